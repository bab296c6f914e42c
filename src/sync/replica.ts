// The offline-first replica: a local store answers every call (so the app works offline) and a
// server is the authority. Local writes are queued in the outbox and pushed in order (push.ts);
// the server's changes are pulled (pull.ts); a conflict is settled by the server's copy, never
// silently. This file is the store, and when and under which locks the sync runs.
import { isReservedId, scope } from "../constants.ts";
import { parseDuration } from "../duration.ts";
import { AuthError, BackendError, ConflictError } from "../errors.ts";
import type {
  SessionRecord,
  SessionStore,
  StoreCapabilities,
  StoreContext,
  WriteCondition,
} from "../stores/types.ts";
import { unref } from "../timers.ts";
import { announce } from "./changes.ts";
import { baseOf, RemoteClient } from "./client.ts";
import { follow } from "./live.ts";
import type { RemoteOptions } from "./options.ts";
import { OUTBOX_ID, Outbox } from "./outbox.ts";
import type { SyncContext, SyncParts } from "./parts.ts";
import { poll } from "./poll.ts";
import { pull } from "./pull.ts";
import { push } from "./push.ts";

/** Options of the replica: where the server is, and how it syncs. */
export interface ReplicaOptions extends RemoteOptions {
  /** The manager's namespace: the tabs of one namespace sync one at a time. */
  namespace?: string;
}

/**
 * A replica store: a `SessionStore`, and a way to sync now.
 * @inline
 */
export interface ReplicaStore extends SessionStore {
  /** Pushes the queued writes and pulls the server's changes; `true` when both went through. */
  sync(): Promise<boolean>;
}

type Timer = ReturnType<typeof setTimeout>;

// Back-off after a failed sync: doubles from the first delay to the last, times 0.8 to 1.2.
const FIRST_RETRY_MS = 500;
const MAX_RETRY_MS = 30_000;
// Another tab holds the sync lock: look again after this long.
const BUSY_RETRY_MS = 1000;

/**
 * A store that keeps sessions in `local` and syncs them with a sessionmanager server. Reads
 * and writes go to `local`, so they work offline; writes are queued and pushed in order when
 * the server can be reached; other clients' changes are pulled on start, on wake and every
 * `pullInterval`. The server's copy wins a conflict, which is reported as `ConflictError`.
 * @example
 * new SessionManager({ backend: replicaStore(indexedDBStore(), { url, token, namespace: "app" }) })
 */
export function replicaStore(local: SessionStore, options: ReplicaOptions): ReplicaStore {
  return new Replica(local, options);
}

class Replica implements ReplicaStore, SyncParts {
  readonly name: string;
  readonly capabilities: StoreCapabilities;
  readonly client: RemoteClient;
  readonly outbox: Outbox;
  context: SyncContext = { report() {} };
  private readonly lockName: string;
  private readonly pullMs: number;
  private readonly live: boolean;
  // Local writes and the outbox change together, one step at a time (across tabs, in a lock).
  private tail: Promise<unknown> = Promise.resolve();
  private running: Promise<boolean> | undefined;
  private again?: boolean;
  private failures = 0;
  private authReported?: boolean;
  private closed?: boolean;
  private retry?: Timer;
  private stopPolling?: () => void;

  constructor(
    readonly local: SessionStore,
    options: ReplicaOptions,
  ) {
    this.name = `${local.name}+remote`;
    // The local store's, but for its native TTL (the server decides when a session ends) and its
    // process log (a replica is never its data's only writer).
    const { nativeTtl, processLog, ...capabilities } = local.capabilities ?? {};
    this.capabilities = capabilities;
    this.client = new RemoteClient(options);
    this.outbox = new Outbox(local);
    this.lockName = scope(options.namespace);
    this.pullMs = parseDuration(options.pullInterval ?? "30s", "pullInterval");
    this.live = options.live !== false;
  }

  async open(context: StoreContext): Promise<void> {
    await this.local.open?.(context);
    this.context = context;
    const sync = () => void this.sync();
    const stopPolling = poll(sync, this.pullMs);
    // Tabs that share the local store share one stream: the others hear through the tabs.
    const lock = this.capabilities.shared ? `${this.lockName}:live` : undefined;
    const stopLive = this.live ? follow(this.client, sync, lock) : undefined;
    this.stopPolling = () => {
      stopPolling();
      stopLive?.();
    };
    sync(); // in the background: the local store answers meanwhile
  }

  get(id: string): ReturnType<SessionStore["get"]> {
    return this.local.get(id);
  }

  async list(): Promise<SessionRecord[]> {
    return (await this.local.list()).filter((r) => r.id !== OUTBOX_ID);
  }

  async set(record: SessionRecord, condition?: WriteCondition): Promise<boolean> {
    // The manager's own records (the passphrase salt) stay in this store: never sent.
    if (isReservedId(record.id)) return this.local.set(record, condition);
    return this.queued(async () => {
      if (!(await this.local.set(record, condition))) return false;
      await this.outbox.append({ put: record, if: baseOf(condition) });
      return true;
    });
  }

  async delete(id: string, condition?: { readonly ifVersion: number }): Promise<boolean> {
    if (isReservedId(id)) return this.local.delete(id, condition);
    return this.queued(async () => {
      const previous = await this.local.get(id);
      if (!(await this.local.delete(id, condition))) return false;
      // An expired session's delete (the sweep) is not sent: the server expires it by itself,
      // and if another client extended it there, the next pull brings it back.
      if (!previous || previous.expiresAt > Date.now()) {
        await this.outbox.append({ del: id, if: condition?.ifVersion });
      }
      return true;
    });
  }

  clear(): Promise<void> {
    return this.queued(async () => {
      const before = await this.outbox.read();
      await this.local.clear();
      await this.outbox.append({ clear: true }, before);
    });
  }

  // Expired sessions are not sent either: the server expires them by itself.
  purgeExpired(now: number): Promise<SessionRecord[]> {
    return this.queued(async () => this.local.purgeExpired(now));
  }

  async close(): Promise<void> {
    this.closed = true;
    this.stopPolling?.();
    clearTimeout(this.retry);
    this.client.close(); // what is in flight rejects, and the sync stops
    await this.running;
    await this.tail;
    await this.local.close?.();
  }

  /** Syncs now, or once more after the sync that is running (a write or a wake came during it). */
  async sync(): Promise<boolean> {
    if (this.closed) return false;
    this.again = !!this.running;
    if (!this.running) {
      clearTimeout(this.retry);
      this.running = this.repeat().finally(() => {
        this.running = undefined;
      });
    }
    return this.running;
  }

  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const locks = this.capabilities.shared && webLocks();
    const run = this.tail.then(() =>
      locks ? (locks.request(`${this.lockName}:outbox`, fn) as Promise<T>) : fn(),
    );
    this.tail = run.catch(() => {});
    return run;
  }

  async adopt(
    current: SessionRecord | undefined,
    server: SessionRecord | undefined,
  ): Promise<void> {
    const written = server
      ? await this.local.set(server, current ? { ifVersion: current.version } : { ifAbsent: true })
      : !current || (await this.local.delete(current.id, { ifVersion: current.version }));
    if (written) announce(this.context, current, server);
  }

  /** Syncs until nothing asked for another round meanwhile. */
  private async repeat(): Promise<boolean> {
    let synced: boolean;
    do {
      this.again = false;
      synced = await this.withSyncLock(() => this.round());
    } while (this.again && !this.closed);
    return synced;
  }

  /**
   * One push and pull. A failure schedules the next attempt, later each time. Offline is what
   * a replica is for: no answer (the network, a 5xx, the server's contention) is only retried,
   * not reported. A refused token is reported once per run of failures; any other answer
   * every time.
   */
  private async round(): Promise<boolean> {
    try {
      await push(this);
      await pull(this);
      this.failures = 0;
      this.authReported = false;
      this.context.synced?.();
      return true;
    } catch (error) {
      if (this.closed) return false;
      const auth = error instanceof AuthError;
      const status = error instanceof BackendError ? (error.status ?? 500) : 0;
      if (auth ? !this.authReported : !(error instanceof ConflictError || status >= 500)) {
        this.context.report(error as Error);
      }
      this.authReported ||= auth;
      const delay = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** this.failures++);
      this.later(delay * (0.8 + Math.random() * 0.4));
      return false;
    }
  }

  private later(ms: number): void {
    clearTimeout(this.retry);
    this.retry = unref(setTimeout(() => void this.sync(), ms));
  }

  /** Runs `fn` unless another tab is syncing this namespace (Web Locks): then tries later. */
  private async withSyncLock(fn: () => Promise<boolean>): Promise<boolean> {
    const locks = webLocks();
    if (!locks) return fn();
    const result = await locks.request(`${this.lockName}:sync`, { ifAvailable: true }, (lock) =>
      lock ? fn() : undefined,
    );
    if (result === undefined) this.later(BUSY_RETRY_MS);
    return result ?? false;
  }

  /**
   * A local write and its place in the queue, as one step; then a push soon, unless backing
   * off (the retry timer or a wake will push then).
   */
  private async queued<T>(fn: () => Promise<T>): Promise<T> {
    const result = await this.exclusive(fn);
    if (this.failures === 0) this.later(0);
    return result;
  }
}

/** The Web Locks of this runtime (a page's, a worker's), if it has them. */
function webLocks(): LockManager | undefined {
  return typeof navigator === "undefined" ? undefined : navigator.locks;
}
