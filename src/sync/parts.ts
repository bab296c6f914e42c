// What the replica hands its pusher and puller (push.ts, pull.ts): apart from replica.ts, so
// that they need not import the replica that imports them.
import type { SessionRecord, SessionStore, StoreContext } from "../stores/types.ts";
import type { RemoteClient } from "./client.ts";
import type { Outbox } from "./outbox.ts";

/**
 * `StoreContext` with what the manager may add: `synced()` is called after every sync that
 * pushed the whole queue and pulled, for the manager to emit `synced`.
 */
export type SyncContext = StoreContext & { synced?(): void };

/** What the pusher and the puller work with: the replica's parts. @internal */
export interface SyncParts {
  readonly local: SessionStore;
  readonly outbox: Outbox;
  readonly client: RemoteClient;
  readonly context: SyncContext;
  /** Runs `fn` after the local steps before it, holding the tabs' outbox lock where there is one. */
  exclusive<T>(fn: () => Promise<T>): Promise<T>;
  /**
   * Makes the server's copy of a session (`undefined`: none) the local one in place of
   * `current`, and tells the manager; unless another tab wrote meanwhile, whose write is then
   * queued and goes out next.
   */
  adopt(current: SessionRecord | undefined, server: SessionRecord | undefined): Promise<void>;
}
