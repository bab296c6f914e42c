import { SessionManager as CoreSessionManager, type StorePlan } from "./manager.ts";
import type { CoreSessionManagerOptions, SessionManagerOptions } from "./options.ts";
import { backendLoader, encryptionOf } from "./stores/resolve.ts";

/**
 * Keeps sessions with a time to live in a store, and tells listeners before and when they expire.
 * The root entry's manager: besides the core's objects it takes a backend by name
 * (`backend: "indexedDB"`) and the features by their plain options (`encryption: { key }`,
 * `remote: { url, token }`), loading their code on first use.
 * @example
 * const sm = new SessionManager({ backend: "localStorage", defaultTtl: "30m", warnBefore: "1m" });
 * await sm.add("user123", { data: { name: "Ada" } });
 * sm.onExpiringSoon((session, msLeft) => showBanner(msLeft));
 */
export class SessionManager<Data = unknown> extends CoreSessionManager<Data> {
  constructor(options: SessionManagerOptions = {}) {
    super(options as CoreSessionManagerOptions);
  }

  /** @internal */
  protected override plan(options: CoreSessionManagerOptions): StorePlan {
    const named = options as SessionManagerOptions;
    return { store: backendLoader(named), encryption: encryptionOf(named.encryption) };
  }
}
