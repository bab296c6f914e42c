// The offline-first replica: a local store answers every call (so the app works offline) and a
// server is the authority. Local writes are queued in the outbox and pushed in order; the
// server's changes are pulled; a conflict is settled by the server's copy, never silently.
import { type Duration, parseDuration } from "../duration.ts";
import { AuthError, BackendError, ConflictError, SessionError } from "../errors.ts";
import { isReservedId } from "../session.ts";
import type {
  SessionRecord,
  SessionStore,
  StoreCapabilities,
  StoreChange,
  StoreContext,
  WriteCondition,
} from "../stores/types.ts";
import { onWake } from "../wake.ts";
import { echoes, sameData } from "./clock.ts";
import {
  idOf,
  type NewOp,
  type Op,
  OUTBOX_ID,
  Outbox,
  runnable,
  serverCondition,
} from "./outbox.ts";
import { type PutOutcome, RemoteClient, type RemoteOptions } from "./remote.ts";

/** Options of the replica: where the server is, and how it syncs. */
export interface ReplicaOptions extends RemoteOptions {
  /** The manager's namespace: the tabs of one namespace sync one at a time. */
  namespace?: string;
  /** How often to ask the server for changes (also on start and on wake). Default `"30s"`. */
  pullInterval?: Duration;
}

/** A replica store: a `SessionStore`, and a way to sync now. */
export interface ReplicaStore extends SessionStore {
  /** Pushes the queued writes and pulls the server's changes; `true` when both went through. */
  sync(): Promise<boolean>;
}

/**
 * `StoreContext` with what the manager may add: `synced()` is called after every sync that
 * pushed the whole queue and pulled, for the manager to emit `synced`.
 */
type SyncContext = StoreContext & { synced?(): void };

/** The server's answer to a queued write: taken, lost to its copy, or to be sent again. */
type Outcome =
  | { readonly kind: "done"; readonly answer?: Extract<PutOutcome, { status: "ok" }> }
  | { readonly kind: "again" }
  | {
      readonly kind: "lost";
      readonly server?: SessionRecord | undefined;
      /** Reported instead of a `ConflictError`. */
      readonly error?: Error;
      /** Nothing to report: the sweep's delete lost to a copy that lives on. */
      readonly quiet?: boolean;
    };
type Timer = ReturnType<typeof setTimeout>;

const DONE: Outcome = { kind: "done" };
const IF_ABSENT = { ifAbsent: true } as const;
const DEFAULT_PULL_INTERVAL = "30s";
// Back-off after a failed sync: doubles from the first delay to the last, with ±20% jitter.
const FIRST_RETRY_MS = 500;
const MAX_RETRY_MS = 30_000;
const JITTER = 0.2;
// Another tab holds the sync lock: look again after this long.
const BUSY_RETRY_MS = 1000;
// A local session about to expire that the server no longer lists is left to the expiry timer
// (which fires `expired`, not `removed`): the two clocks agree only this closely.
const EXPIRY_MARGIN_MS = 1000;

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

class Replica implements ReplicaStore {
  readonly name: string;
  readonly capabilities: StoreCapabilities;
  private readonly client: RemoteClient;
  private readonly outbox: Outbox;
  private readonly lockName: string;
  private readonly pullMs: number;
  private context: SyncContext = { report: () => {} };
  // Local writes and the outbox change together, one step at a time (across tabs, in a lock).
  private tail: Promise<unknown> = Promise.resolve();
  private running: Promise<boolean> | undefined;
  private again = false;
  private failures = 0;
  private authReported = false;
  private closed = false;
  private readonly timers: { pull?: Timer; retry?: Timer; soon?: Timer | undefined } = {};
  private stopWaking: () => void = () => {};

  constructor(
    private readonly local: SessionStore,
    options: ReplicaOptions,
  ) {
    this.name = `${local.name}+remote`;
    const { shared, fallback } = local.capabilities ?? {};
    this.capabilities = { ...(shared && { shared }), ...(fallback && { fallback }) };
    this.client = new RemoteClient(options);
    this.outbox = new Outbox(local);
    this.lockName = `sessionmanager:${options.namespace ?? "sessionmanager"}`;
    this.pullMs = parseDuration(options.pullInterval ?? DEFAULT_PULL_INTERVAL, "pullInterval");
  }

  async open(context: StoreContext): Promise<void> {
    await this.local.open?.(context);
    this.context = context;
    this.timers.pull = unref(setInterval(() => void this.sync(), this.pullMs));
    this.stopWaking = onWake(() => void this.sync());
    void this.sync(); // in the background: the local store answers meanwhile
  }

  get(id: string): ReturnType<SessionStore["get"]> {
    return this.local.get(id);
  }

  async list(): Promise<SessionRecord[]> {
    return (await this.local.list()).filter((r) => r.id !== OUTBOX_ID);
  }

  async listPrefix(prefix: string): Promise<SessionRecord[]> {
    const found = this.local.listPrefix
      ? await this.local.listPrefix(prefix)
      : (await this.local.list()).filter((r) => r.id.startsWith(prefix));
    return found.filter((r) => r.id !== OUTBOX_ID);
  }

  set(record: SessionRecord, condition?: WriteCondition): Promise<boolean> {
    // The manager's own records (the passphrase salt) stay in this store: never sent.
    if (isReservedId(record.id)) return Promise.resolve(this.local.set(record, condition));
    return this.queued(async () => {
      if (!(await this.local.set(record, condition))) return false;
      const base = condition && ("ifAbsent" in condition ? 0 : condition.ifVersion);
      await this.outbox.append([base === undefined ? { put: record } : { put: record, if: base }]);
      return true;
    });
  }

  delete(id: string, condition?: { readonly ifVersion: number }): Promise<boolean> {
    if (isReservedId(id)) return Promise.resolve(this.local.delete(id, condition));
    return this.queued(async () => {
      const previous = await this.local.get(id);
      if (!(await this.local.delete(id, condition))) return false;
      const op: NewOp = condition ? { del: id, if: condition.ifVersion } : { del: id };
      // An expired session's delete (the sweep) is not sent: the server expires it by itself,
      // and if another client extended it there, the next pull brings it back.
      const swept = previous !== undefined && previous.expiresAt <= Date.now();
      if (!swept) await this.outbox.append([op]);
      return true;
    });
  }

  clear(): Promise<void> {
    return this.queued(async () => {
      const before = await this.outbox.read();
      await this.local.clear();
      await this.outbox.restore(before);
    });
  }

  purgeExpired(now: number): Promise<SessionRecord[]> {
    return this.queued(async () => {
      const removed = await this.local.purgeExpired(now);
      const ops = removed
        .filter((r) => !isReservedId(r.id))
        .map((r): NewOp => ({ del: r.id, if: r.version, swept: true }));
      if (ops.length > 0) await this.outbox.append(ops);
      return removed;
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const timer of Object.values(this.timers)) clearTimeout(timer);
    this.stopWaking();
    this.client.close(); // what is in flight rejects, and the sync stops
    await this.running;
    await this.tail;
    await this.local.close?.();
  }

  sync(): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    if (this.running) {
      this.again = true; // a write or a wake came during the run: once more after it
      return this.running;
    }
    clearTimeout(this.timers.retry);
    this.running = this.repeat().finally(() => {
      this.running = undefined;
    });
    return this.running;
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

  /** One push and pull; a failure schedules the next attempt, later each time. */
  private async round(): Promise<boolean> {
    try {
      await this.push();
      await this.pull();
      this.failures = 0;
      this.authReported = false;
      this.context.synced?.();
      return true;
    } catch (error) {
      if (!this.closed) this.failed(error);
      return false;
    }
  }

  private failed(error: unknown): void {
    // Offline is what a replica is for: no answer is only retried, not reported. A refused
    // token is reported once per run of failures; any other answer every time.
    if (error instanceof AuthError) {
      if (!this.authReported) this.context.report(error);
      this.authReported = true;
    } else if (!transient(error)) {
      this.context.report(error instanceof Error ? error : new Error(String(error)));
    }
    const delay = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** this.failures++);
    this.later(delay * (1 - JITTER + Math.random() * 2 * JITTER));
  }

  private later(ms: number): void {
    clearTimeout(this.timers.retry);
    this.timers.retry = unref(setTimeout(() => void this.sync(), ms));
  }

  /** After a local write: push soon, unless backing off (the retry timer or a wake will). */
  private soon(): void {
    if (this.closed || this.failures > 0 || this.timers.soon !== undefined) return;
    this.timers.soon = unref(
      setTimeout(() => {
        this.timers.soon = undefined;
        void this.sync();
      }, 0),
    );
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

  /** Runs `fn` after the steps before it, holding the tabs' outbox lock where there is one. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const locks = this.capabilities.shared ? webLocks() : undefined;
    const run = this.tail.then(() =>
      locks ? (locks.request(`${this.lockName}:outbox`, fn) as Promise<T>) : fn(),
    );
    this.tail = run.then(noop, noop);
    return run;
  }

  /** A local write and its place in the queue, as one step; then a push soon. */
  private async queued<T>(fn: () => Promise<T>): Promise<T> {
    const result = await this.exclusive(fn);
    this.soon();
    return result;
  }

  /** Sends the queue in order, a few sessions at a time; stops at the first failure. */
  private async push(): Promise<void> {
    for (;;) {
      const batch = runnable((await this.outbox.read()).ops);
      if (batch.length === 0) return;
      const settled = await Promise.allSettled(batch.map((op) => this.send(op)));
      const done: number[] = [];
      let failure: unknown;
      for (const [i, result] of settled.entries()) {
        const op = batch[i] as Op;
        if (result.status === "rejected") failure ??= result.reason;
        else if (result.value.kind === "done" && !result.value.answer) done.push(op.n);
        else if (result.value.kind !== "again") await this.settle(op, result.value);
      }
      if (done.length > 0) await this.exclusive(() => this.outbox.remove(done));
      if (failure !== undefined) throw failure;
    }
  }

  /** One queued write to the server, and what came of it. */
  private async send(op: Op): Promise<Outcome> {
    if ("clear" in op) {
      await this.client.clear();
      return DONE;
    }
    if ("del" in op) {
      const outcome = await this.client.delete(op.del, op.if);
      if (outcome.status !== "refused") return DONE;
      // The sweep's delete lost to a newer copy: the session lives on, and no write was lost.
      return { kind: "lost", server: outcome.session?.record, quiet: op.swept === true };
    }
    const record = op.put;
    // Expired before it could go: nothing to send (the sweep's delete comes after it).
    if (record.expiresAt <= Date.now()) return DONE;
    const condition = serverCondition(op);
    try {
      // Sent before, maybe, by a push whose answer never came: its own write counts as taken.
      const outcome = await this.client.put(record, condition, true);
      if (outcome.status === "ok") return { kind: "done", answer: outcome };
      // A create refused for a live copy that expired before it could be read: again.
      if (condition && "ifAbsent" in condition && !outcome.session) return { kind: "again" };
      return { kind: "lost", server: outcome.session?.record };
    } catch (error) {
      if (!refusedInput(error)) throw error;
      // The server will never take this write (its data, ttl or id): its copy stands.
      return { kind: "lost", server: (await this.client.get(record.id))?.record, error };
    }
  }

  /** Applies an answer locally: the op leaves the queue; the server's copy where it differs. */
  private settle(op: Op, outcome: Outcome): Promise<void> {
    return this.exclusive(async () => {
      if (outcome.kind === "lost") return this.lose(op, outcome);
      await this.outbox.remove([op.n]);
      const answer = outcome.kind === "done" ? outcome.answer : undefined;
      if (!answer || !("put" in op) || echoes(answer.session.wire, answer.sent, op.put)) return;
      // The server's version and times, if the local copy is still the one pushed.
      const current = await this.local.get(op.put.id);
      if (current?.version !== op.put.version || current.updatedAt !== op.put.updatedAt) return;
      const server = answer.session.record;
      if (await this.local.set(server, { ifVersion: current.version })) {
        this.announce(current, server);
      }
    });
  }

  /**
   * The server refused a write: its copy (or its absence) wins. The write and every later one
   * of that session leave the queue (they built on the losing copy), the local copy becomes
   * the server's, listeners hear of it, and the loss is reported unless it was the sweep's.
   */
  private async lose(op: Op, lost: Extract<Outcome, { kind: "lost" }>): Promise<void> {
    const id = idOf(op) as string;
    await this.outbox.removeId(id);
    const current = await this.local.get(id);
    const { server } = lost;
    const written = server
      ? await this.local.set(server, current ? { ifVersion: current.version } : IF_ABSENT)
      : !current || (await this.local.delete(id, { ifVersion: current.version }));
    // Not written: another tab wrote meanwhile; its write is queued and goes out next.
    if (written) this.announce(current, server);
    if (lost.quiet) return;
    const mine = current ?? ("put" in op ? op.put : undefined);
    this.context.report(lost.error ?? conflict(id, mine, server));
  }

  /** Asks the server what changed and follows it locally, except where writes are queued. */
  private async pull(): Promise<void> {
    const changes = await this.client.changes((await this.outbox.read()).cursor);
    await this.exclusive(async () => {
      const { ops } = await this.outbox.read();
      if (ops.some((op) => "clear" in op)) return; // a queued clear goes out first
      const pending = new Set(ops.map(idOf));
      for (const { record } of changes.changed) {
        if (!pending.has(record.id)) await this.follow(record);
      }
      const live = new Set(changes.live);
      const keep = Date.now() + EXPIRY_MARGIN_MS;
      for (const r of await this.local.list()) {
        const gone = !(isReservedId(r.id) || live.has(r.id) || pending.has(r.id));
        // Removed on the server (by another client): removed here.
        if (
          gone &&
          r.expiresAt > keep &&
          (await this.local.delete(r.id, { ifVersion: r.version }))
        ) {
          this.announce(r, undefined);
        }
      }
      await this.outbox.setCursor(changes.cursor);
    });
  }

  /** Takes the server's copy of a session that is not queued here, where it differs. */
  private async follow(server: SessionRecord): Promise<void> {
    const current = await this.local.get(server.id);
    if (current && !differs(current, server)) return;
    const condition = current ? { ifVersion: current.version } : IF_ABSENT;
    if (await this.local.set(server, condition)) this.announce(current, server);
  }

  /** Tells the manager (and through it the other tabs) about a change it did not make. */
  private announce(previous: SessionRecord | undefined, next: SessionRecord | undefined): void {
    const tell = (event: StoreChange, records: SessionRecord[]) =>
      this.context.changed?.(event, records);
    if (!previous) {
      if (next) tell("added", [next]);
    } else if (!next) tell("removed", [previous]);
    else if (sameData(previous.data, next.data)) tell("touched", [next]);
    else tell("updated", [next, previous]);
  }
}

/** Whether the server's copy of a session is another state than the local one. */
function differs(local: SessionRecord, server: SessionRecord): boolean {
  return (
    local.version !== server.version ||
    local.ttl !== server.ttl ||
    Math.abs(local.expiresAt - server.expiresAt) > EXPIRY_MARGIN_MS ||
    !sameData(local.data, server.data)
  );
}

/** A failure that says nothing about the request: no answer, a 5xx, the server's contention. */
function transient(error: unknown): boolean {
  if (error instanceof ConflictError) return true;
  const status = (error as { status?: number }).status;
  return error instanceof BackendError && (status === undefined || status >= 500);
}

/** The server refused the request's own content (its data, ttl or id): it never will take it. */
function refusedInput(error: unknown): error is Error {
  return error instanceof SessionError && error.code.startsWith("INVALID_");
}

/** The report of a write the server's copy won over, with both copies attached. */
function conflict(
  id: string,
  local: SessionRecord | undefined,
  server: SessionRecord | undefined,
): ConflictError {
  const theirs = server ? `version ${server.version}` : "no session";
  const message = `a queued write of ${JSON.stringify(id)} lost: the server has ${theirs}, which wins`;
  return new ConflictError(message, { id, local, server });
}

function webLocks(): LockManager | undefined {
  return (globalThis as { navigator?: { locks?: LockManager } }).navigator?.locks ?? undefined;
}

function unref<T>(timer: T): T {
  (timer as { unref?: () => void }).unref?.();
  return timer;
}

function noop(): void {}
