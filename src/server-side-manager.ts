// The manager behind server-side sessions (the express-session store, cookie sessions). Its store
// holds every user's session, perhaps millions: it does not read them all when it opens (which took
// seconds and ~110 B of heap per session), and sweeps expired ones from the store every so often
// instead, since it has no timer for sessions it never wrote.
import type { StorePlan } from "./manager.ts";
import type { CoreSessionManagerOptions, SessionManagerOptions } from "./options.ts";
import { SessionManager } from "./root-manager.ts";
import { unref } from "./timers.ts";

/** How often expired sessions are swept from the store, by default (as connect-pg-simple). */
export const SWEEP_EVERY_MS: number = 15 * 60_000;

/**
 * A root `SessionManager` that warns about and expires the sessions it writes (adds, updates,
 * touches), reads any, and removes expired ones from the store every `sweepEveryMs` (firing
 * `expired` for each, in the one process whose sweep removed it).
 */
export class ServerSideManager<Data = unknown> extends SessionManager<Data> {
  private readonly sweeper: ReturnType<typeof setInterval>;

  constructor(options: SessionManagerOptions = {}, sweepEveryMs: number = SWEEP_EVERY_MS) {
    super(options);
    this.sweeper = unref(
      setInterval(() => {
        // A sweep that fails is reported on `error`, and tried again next time.
        this.purgeExpired().catch((error: unknown) => this.fail(error));
      }, sweepEveryMs),
    );
  }

  override async close(): Promise<void> {
    clearInterval(this.sweeper);
    await super.close();
  }

  /** @internal */
  protected override plan(options: CoreSessionManagerOptions): StorePlan {
    return { ...super.plan(options), preload: false };
  }
}
