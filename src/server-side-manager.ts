// The manager behind server-side sessions (the express-session store, cookie sessions). Its store
// holds every user's session, perhaps millions: it does not read them all when it opens (100,000
// took 0.6 s and 10 MB of heap), and sweeps expired ones from the store every so often instead,
// since it has no timer for sessions it never wrote.
import { toJsonData } from "./data.ts";
import type { Expiry } from "./expiry.ts";
import type { StorePlan } from "./manager.ts";
import type { CoreSessionManagerOptions, SessionManagerOptions } from "./options.ts";
import { SessionManager } from "./root-manager.ts";
import { capped, expiresAfter, live, record } from "./session.ts";
import type { SessionStore } from "./stores/types.ts";
import { unref } from "./timers.ts";
import type { Change, Session, SessionRecord } from "./types.ts";

/** How often expired sessions are swept from the store, by default (as connect-pg-simple). */
export const SWEEP_EVERY_MS: number = 15 * 60_000;

/**
 * The manager's own parts this class writes through. They stay private there, so that the types
 * never offer them to users' subclasses (the build shortens their names, consistently, here too).
 */
interface Inside {
  writeSession(
    op: string,
    id: string,
    decide: (current: SessionRecord | undefined, now: number) => SessionRecord,
  ): Promise<SessionRecord>;
  readonly expiry: Expiry;
  publish(event: Change, session: SessionRecord, previous?: SessionRecord): Session<never>;
  fail(cause: unknown): void;
}

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
        this.purgeExpired().catch((error: unknown) => this.inside.fail(error));
      }, sweepEveryMs),
    );
  }

  /**
   * Replaces the data of live session `id` and ends it `ttl` ms from now (never past its
   * `maxAge`) in one conditional write, where `update` and `touch` take two: one `updated` event.
   * `SessionNotFoundError` when there is no live session.
   */
  async replace(id: string, data: Data, ttl: number): Promise<Session<Data>> {
    const value = toJsonData(data);
    let previous: SessionRecord | undefined;
    const inside = this.inside;
    const session = await inside.writeSession("update", id, (current, now) => {
      const c = live(id, current, now);
      previous = c;
      const expiresAt = capped(expiresAfter(now, ttl), c);
      return record(id, value, c.createdAt, now, expiresAt, c.ttl, c.version + 1, c.maxAge);
    });
    inside.expiry.schedule(session);
    return inside.publish("updated", session, previous) as Session<Data>;
  }

  private get inside(): Inside {
    return this as unknown as Inside;
  }

  override async close(): Promise<void> {
    clearInterval(this.sweeper);
    await super.close();
  }

  /** @internal */
  protected override plan(options: CoreSessionManagerOptions): StorePlan {
    const plan = super.plan(options);
    return { ...plan, store: async () => withoutPreload(await plan.store()) };
  }
}

/**
 * `store`, but its first `list()` answers no sessions: the one a manager makes as it opens, to
 * schedule every stored session's warnings, before any call of its own (those wait for the
 * opening). Done here rather than as an option of the manager: pages' bundles carry nothing of it.
 */
function withoutPreload(store: SessionStore): SessionStore {
  let opening = true;
  // The store's own methods and properties through the prototype; `this` in them is this object.
  const view = Object.create(store) as { -readonly [K in keyof SessionStore]: SessionStore[K] };
  view.list = () => {
    if (!opening) return store.list();
    opening = false;
    return [];
  };
  return view;
}
