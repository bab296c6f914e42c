import { isThenable, settle } from "./awaitable.ts";
import type { SessionCache } from "./cache.ts";
import { DEFAULT_NAMESPACE, scope } from "./constants.ts";
import { toJsonData } from "./data.ts";
import { type Duration, parseDuration } from "./duration.ts";
import {
  BackendError,
  ConflictError,
  SessionError,
  SessionExistsError,
  SessionNotFoundError,
} from "./errors.ts";
import { type SafeEvents, safeEvents } from "./events.ts";
import { createLog, type LogFns, shortId } from "./log.ts";
import type {
  AddArgs,
  CoreSessionManagerOptions,
  Encryption,
  SessionEvents,
  SessionManagerStatus,
} from "./options.ts";
import { createScheduler, type Scheduler } from "./scheduler.ts";
import { checkId, live, record } from "./session.ts";
import { memoryStore } from "./stores/memory.ts";
import { guard, openStore, unavailableStore } from "./stores/open.ts";
import type { Awaitable, SessionRecord, SessionStore } from "./stores/types.ts";
import type { TabChannel, TabEvent } from "./tabs.ts";
import type { Session } from "./types.ts";
import { Vault } from "./vault.ts";
import { onWake } from "./wake.ts";

type Decide<R = SessionRecord | null | undefined> = (
  current: SessionRecord | undefined,
  now: number,
) => R;

// Conditional writes that keep failing mean another writer changes the same session non-stop.
const ATTEMPTS = 5;
const IF_ABSENT = { ifAbsent: true } as const;
// How long the sweep waits before it retries a session whose store call failed.
const RETRY_MS = 5000;
// How long a tab waits before it sweeps a session whose lock another tab held.
const SWEEP_RETRY_MS = 1000;

/** @internal How a manager gets its store and its encryption (the root entry's by name). */
export interface StorePlan {
  store: () => Promise<SessionStore>;
  encryption: Encryption | undefined;
}

/**
 * Keeps sessions with a time to live in a store, and tells listeners before and when they expire.
 * @example
 * const sm = new SessionManager({ defaultTtl: "30m", warnBefore: "1m" });
 * await sm.add("user123", { data: { name: "Ada" } });
 * sm.onExpiringSoon((session, msLeft) => showBanner(msLeft));
 */
export class SessionManager<Data = unknown> {
  /** Resolves once stored sessions are loaded; never rejects. */
  readonly ready: Promise<void>;
  private state: SessionManagerStatus = "loading";
  // Set by `load`, which every method waits for while the manager is loading.
  private store!: SessionStore;
  private readonly events: SafeEvents<SessionEvents<Data>> = safeEvents((error, event) =>
    this.fail(error, event),
  );
  private readonly scheduler: Scheduler;
  private readonly ttl: number;
  private readonly warnBefore: number;
  private readonly log: LogFns;
  private closed = false;
  private readonly stopWaking: () => void;
  // Other tabs of this namespace, when the store is shared between them (localStorage, IndexedDB).
  private tabs: TabChannel | undefined;
  // Browser stores only: what this tab knows, so reads skip the store and other tabs' messages
  // win over storage that has not caught up. (Server stores are shared by processes that send no
  // messages, so a cache there would go stale.)
  private cache: SessionCache | undefined;
  // Encryption at rest: seals what goes to the store, opens what comes back.
  private readonly vault: Vault = new Vault((error) => this.fail(error));

  constructor(options: CoreSessionManagerOptions = {}) {
    this.ttl = parseDuration(options.defaultTtl ?? "30m", "defaultTtl");
    this.warnBefore = parseDuration(options.warnBefore ?? "1m", "warnBefore", true);
    this.log = createLog(options.logger, options.logLevel ?? "info", "sessionmanager:");
    const plan = this.plan(options);
    this.scheduler = createScheduler((id, deadline, now) => {
      // The store failed (it is down, say): report it and try this session again later.
      const retry = (error: unknown) => {
        this.fail(error);
        this.scheduler.schedule(id, Date.now() + RETRY_MS);
      };
      try {
        const pending = this.due(id, deadline, now);
        return isThenable(pending) ? Promise.resolve(pending).then(undefined, retry) : undefined;
      } catch (error) {
        retry(error);
      }
    });
    this.stopWaking = onWake(() => this.scheduler.recheck());
    this.ready = this.load(plan, options.namespace ?? DEFAULT_NAMESPACE);
  }

  /**
   * @internal The store and encryption that `options` ask for. Here they are objects the caller
   * imported; the root entry's manager overrides this to take names and plain options too.
   */
  protected plan(options: CoreSessionManagerOptions): StorePlan {
    const { backend, remote, encryption, namespace = DEFAULT_NAMESPACE } = options;
    // Names and plain options are the root entry's: say what the core takes instead.
    const check = (ok: unknown, option: string, takes: string) => {
      if (!ok) throw new BackendError(`${option} in sessionmanager-js/core takes ${takes}`);
    };
    check(
      backend === undefined || (typeof backend === "object" && backend),
      `backend ${JSON.stringify(backend)}`,
      "a SessionStore such as indexedDBStore()",
    );
    check(!remote || typeof remote.replicate === "function", "remote", "what sync() returns");
    check(
      !encryption || typeof encryption.open === "function",
      "encryption",
      "what encryption() returns",
    );
    const local = backend ?? memoryStore({ namespace });
    const store = guard(remote ? remote.replicate(local, namespace) : local);
    return { store: async () => store, encryption: encryption || undefined };
  }

  /** `"loading"` until stored sessions are read, then `"ready"`. */
  get status(): SessionManagerStatus {
    return this.state;
  }

  /** Adds a session; rejects with `SessionExistsError` while a live one has this id. */
  async add(id: string, ...[options]: AddArgs<Data>): Promise<Session<Data>> {
    const ttl = options?.ttl === undefined ? this.ttl : parseDuration(options.ttl);
    const data = toJsonData(options?.data);
    let existing: SessionRecord | undefined;
    const session = await this.write("add", id, (current, now) => {
      if (current && current.expiresAt > now) throw new SessionExistsError(id);
      existing = current;
      return record(id, data, now, now, now + ttl, ttl, 1);
    });
    // The id held a session that had expired without being swept: it ends first (and the new
    // one, which may share its createdAt to the millisecond, stays what the cache knows).
    if (existing) {
      this.expire(existing, session.createdAt);
      this.cache?.remember(session);
    }
    this.schedule(session);
    return this.emit("added", session);
  }

  /** The live session with this id, or `undefined` (an expired session counts as absent). */
  async get(id: string): Promise<Session<Data> | undefined> {
    this.open();
    checkId(id);
    if (this.state === "loading") await this.ready;
    this.log.debug?.(`get ${shortId(id)}`);
    const cached = this.cache?.get(id);
    if (cached !== undefined) {
      return cached && cached.expiresAt > Date.now() ? (cached as Session<Data>) : undefined;
    }
    const stored = this.store.get(id);
    // The memory store answers synchronously: awaiting only real promises saves a tick per read.
    let found = isThenable(stored) ? await stored : stored;
    if (found && this.vault.needs(found)) found = await this.vault.reveal(found);
    if (found) this.cache?.remember(found);
    return found && found.expiresAt > Date.now() ? (found as Session<Data>) : undefined;
  }

  /** Like `get`, but rejects with `SessionNotFoundError` instead of returning `undefined`. */
  async getOrThrow(id: string): Promise<Session<Data>> {
    const session = await this.get(id);
    if (!session) throw new SessionNotFoundError(id);
    return session;
  }

  async has(id: string): Promise<boolean> {
    return (await this.get(id)) !== undefined;
  }

  /** Extends a session: `expiresAt = now + (ttl ?? session.ttl)`. `session.ttl` is kept. */
  async touch(id: string, ttl?: Duration): Promise<Session<Data>> {
    const extend = ttl === undefined ? undefined : parseDuration(ttl);
    const session = await this.write("touch", id, (current, now) => {
      const c = live(id, current, now);
      return record(id, c.data, c.createdAt, now, now + (extend ?? c.ttl), c.ttl, c.version + 1);
    });
    this.schedule(session);
    return this.emit("touched", session);
  }

  /**
   * Replaces the data, or applies `(old) => new` (which may run again if another writer changed
   * the session meanwhile, so keep it pure); keeps `expiresAt`.
   */
  async update(id: string, updater: (old: Data) => Data): Promise<Session<Data>>;
  async update(id: string, data: Data): Promise<Session<Data>>;
  async update(id: string, next: Data | ((old: Data) => Data)): Promise<Session<Data>> {
    const updater = typeof next === "function" ? (next as (old: Data) => Data) : undefined;
    const data = updater ? undefined : toJsonData(next);
    let previous: SessionRecord | undefined;
    const session = await this.write("update", id, (current, now) => {
      const c = live(id, current, now);
      previous = c;
      const value = updater ? toJsonData(updater(c.data as Data)) : data;
      return record(id, value, c.createdAt, now, c.expiresAt, c.ttl, c.version + 1);
    });
    return this.emit("updated", session, previous as SessionRecord);
  }

  /** Ends a session; `false` if there was no live one. */
  async remove(id: string): Promise<boolean> {
    // An expired session is absent: left to the sweep, which removes it and fires `expired`.
    let removed: SessionRecord | undefined;
    const deleted = await this.write("remove", id, (current, now) => {
      removed = current;
      return current && current.expiresAt > now ? null : undefined;
    });
    if (deleted === undefined || !removed) return false;
    this.scheduler.cancel(id);
    this.emit("removed", removed);
    return true;
  }

  /** Every live session. */
  async list(): Promise<Session<Data>[]> {
    this.open();
    if (this.state === "loading") await this.ready;
    const stored = await this.vault.readAll(await this.store.list());
    const all = this.cache ? this.cache.merge(stored) : stored;
    const now = Date.now();
    this.log.debug?.(`list ${all.length}`);
    return all.filter((s) => s.expiresAt > now) as Session<Data>[];
  }

  /** Removes every session of this namespace; `removed` fires for each live one. */
  async clear(): Promise<void> {
    this.open();
    if (this.state === "loading") await this.ready;
    const live = this.events.has("removed") || this.tabs ? await this.list() : [];
    const restore = await this.vault.preserve();
    await this.store.clear();
    await restore?.(); // the passphrase salt outlives the sessions: other tabs still use it
    this.scheduler.clear();
    this.cache?.forgetAll();
    this.log.debug?.("clear");
    for (const session of live) this.emit("removed", session);
  }

  /** Removes expired sessions from the store now, firing `expired` for each; returns how many. */
  async purgeExpired(): Promise<number> {
    this.open();
    if (this.state === "loading") await this.ready;
    const now = Date.now();
    const removed = await this.store.purgeExpired(now);
    for (const session of await this.vault.readAll(removed)) this.expire(session, now);
    this.log.debug?.(`purgeExpired ${removed.length}`);
    return removed.length;
  }

  /**
   * Subscribes to an event; returns the function that unsubscribes. A listener that throws
   * (or rejects) does not disturb the manager or other listeners: its error goes to `error`.
   * @example
   * const off = sm.on("removed", (session) => console.log("signed out", session.id));
   */
  on<E extends keyof SessionEvents<Data>>(event: E, listener: SessionEvents<Data>[E]): () => void {
    return this.events.on(event, listener);
  }

  /** Calls `listener(session, msLeft)` once per expiry, `warnBefore` ahead of it. */
  onExpiringSoon(listener: SessionEvents<Data>["expiringSoon"]): () => void {
    return this.on("expiringSoon", listener);
  }

  /** Calls `listener(session)` when a session expires. */
  onExpired(listener: SessionEvents<Data>["expired"]): () => void {
    return this.on("expired", listener);
  }

  /** Stops the timer and closes the store; every later call rejects with code `CLOSED`. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.scheduler.stop();
    this.stopWaking();
    this.events.clear();
    await this.ready; // the store may still be opening
    this.tabs?.close();
    await this.store.close?.();
  }

  private async load(
    { store: makeStore, encryption }: StorePlan,
    namespace: string,
  ): Promise<void> {
    const context = {
      // A sync conflict carries both copies as stored: sealed ones are opened for listeners.
      report: (error: Error) => {
        if (error instanceof ConflictError)
          this.vault.openConflict(error).then((e) => this.fail(e));
        else this.fail(error);
      },
      // What the store learnt elsewhere (the server): followed here and passed on to the tabs.
      // Sealed records (encryption at rest) are opened first: listeners never see ciphertext.
      changed: (event: TabEvent, records: SessionRecord[]) => {
        this.vault.readAll(records).then((open) => {
          if (open.length < records.length) return; // could not be decrypted: reported
          this.heard(event, open);
          this.tabs?.post(event, open);
        }, this.fail.bind(this));
      },
      synced: () => this.events.emit("synced"),
    };
    const { store, degraded } = await openStore(makeStore, context, namespace);
    this.store = store;
    if (encryption) {
      try {
        await this.vault.open(encryption, store, namespace);
      } catch (error) {
        // The keys cannot be had: calls fail with why, rather than store sessions unencrypted.
        this.fail(error);
        this.store = unavailableStore(error);
      }
    }
    if (degraded) {
      this.state = "degraded";
      this.log.warn?.(`${degraded.message}; keeping sessions in memory`);
      this.events.emit("degraded", degraded);
    }
    const { fallback, shared } = degraded ? {} : (store.capabilities ?? {});
    if (fallback) this.cache = new (await import("./cache.ts")).SessionCache();
    try {
      const stored = await this.vault.readAll(await this.store.list());
      this.cache?.merge(stored);
      for (const session of stored) this.schedule(session);
    } catch (error) {
      this.fail(error);
    }
    if (shared && !this.closed) {
      const name = scope(namespace);
      // Loaded only here: a manager whose store tabs do not share never carries this.
      const { openTabChannel } = await import("./tabs.ts");
      this.tabs = openTabChannel(
        name,
        (event, records) => this.heard(event, records),
        (error) => this.fail(error),
      );
    }
    if (this.state === "loading") this.state = "ready";
  }

  /**
   * Reads a session and writes what `decide` makes of it (a record to store, `null` to delete,
   * `undefined` to leave it) under the version it read, again if another writer came between.
   * Resolves to what `decide` returned the last time.
   */
  private async write(
    op: string,
    id: string,
    decide: Decide<SessionRecord>,
  ): Promise<SessionRecord>;
  private async write(
    op: string,
    id: string,
    decide: Decide<null | undefined>,
  ): Promise<null | undefined>;
  private async write(
    op: string,
    id: string,
    decide: Decide,
  ): Promise<SessionRecord | null | undefined> {
    this.open();
    checkId(id);
    if (this.state === "loading") await this.ready;
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      // The first attempt writes without reading where it can (one round trip rather than two):
      // an add `ifAbsent`, a change on the live copy this tab knows `ifVersion`. If the store
      // holds something else, the write is refused and the next attempt reads. Synchronous
      // answers (the memory store's) are used as they are: an await costs a tick.
      const known = attempt === 0 && op !== "add" ? this.cache?.get(id) : undefined;
      const got =
        attempt === 0 && (op === "add" || (known && known.expiresAt > Date.now()))
          ? known || undefined
          : this.store.get(id);
      const raw = isThenable(got) ? await got : got;
      // A record this manager cannot decrypt reads as absent (reported): `add` may replace it.
      const current = raw && this.vault.needs(raw) ? await this.vault.reveal(raw) : raw;
      const next = decide(current, Date.now());
      if (next === undefined) return next;
      const condition = raw ? { ifVersion: raw.version } : IF_ABSENT;
      const sealing = next && this.vault.seal(next);
      const sealed = isThenable(sealing) ? await sealing : sealing;
      const result = sealed
        ? this.store.set(sealed, condition)
        : this.store.delete(id, condition as { ifVersion: number });
      if (isThenable(result) ? await result : result) {
        if (this.cache) this.cache.remember(next ?? (current as SessionRecord), !next);
        this.log.debug?.(`${op} ${shortId(id)}`);
        return next;
      }
    }
    throw new ConflictError(`${op} of ${shortId(id)} kept losing to other writers`);
  }

  /** Emits a change here and tells the other tabs, which emit it there. */
  private emit(event: TabEvent, ...args: SessionRecord[]): Session<Data> {
    (this.events.emit as (event: TabEvent, ...args: SessionRecord[]) => void)(event, ...args);
    this.tabs?.post(event, args);
    return args[0] as Session<Data>;
  }

  /** A change made in another tab: follow it here, and emit it to this tab's listeners. */
  private heard(event: TabEvent, args: SessionRecord[]): void {
    if (this.closed) return;
    const [session] = args as [SessionRecord];
    const gone = event === "removed" || event === "expired";
    // Already ended here: this tab swept it too, from storage that had not caught up yet.
    if (gone && this.cache?.ended(session)) return;
    if (event === "expired") {
      this.expire(session, Date.now(), undefined, false);
      return;
    }
    this.cache?.remember(session, gone);
    if (gone) this.scheduler.cancel(session.id);
    else this.schedule(session); // a touch there moves (or cancels) the warning here
    (this.events.emit as (event: TabEvent, ...args: SessionRecord[]) => void)(event, ...args);
  }

  /** Queues the next deadline of a session: its warning, or its expiry if warnings are off. */
  private schedule(session: SessionRecord): void {
    this.scheduler.schedule(session.id, session.expiresAt - this.warnBefore);
  }

  /**
   * A deadline came due. The queued deadline is below `expiresAt` until the warning for this
   * expiry has fired, and equal to it after; so each expiry is warned about once, always before
   * `expired`, however late the timer woke up.
   */
  private due(id: string, deadline: number, now: number): unknown {
    // `then` stays synchronous with a synchronous store: a burst of 100k expiries then makes
    // no promise per session, which keeps garbage collection out of the drain's slices.
    const read = settle(this.store.get(id), (raw) =>
      raw && this.vault.needs(raw) ? this.vault.reveal(raw) : raw,
    ) as Awaitable<SessionRecord | undefined>;
    return settle(read, (session) => {
      // Gone: removed, or expired and deleted by another tab, whose message says so (or it
      // cannot be decrypted, which was reported).
      if (!session) return;
      const { expiresAt } = session;
      if (now >= expiresAt) {
        const remove = () => this.store.delete(id, { ifVersion: session.version });
        // Only one tab sweeps at a time; the others hear its `expired` message. A busy lock is
        // tried again shortly, in case the tab holding it is about to be frozen.
        const deleting = this.tabs?.sweep ? this.tabs.sweep(remove) : remove();
        // Where another tab does the deleting, its message fires `expired` here; the warning
        // this tab still owes (its timer woke late: a throttled background tab) fires now.
        return settle(deleting, (deleted) => {
          if (deleted) return this.expire(session, now, deadline);
          if (deleted === undefined) {
            this.warnOwed(session, deadline, now);
            return this.scheduler.schedule(id, Date.now() + SWEEP_RETRY_MS);
          }
          // Another writer came between our read and delete: follow a newer version; if it is
          // gone, another tab deleted it at expiry.
          return settle(this.store.get(id), (fresh) =>
            fresh ? this.schedule(fresh) : this.warnOwed(session, deadline, now),
          );
        });
      }
      if (deadline < expiresAt && now >= expiresAt - this.warnBefore) {
        this.scheduler.schedule(id, expiresAt);
        this.events.emit("expiringSoon", session as Session<Data>, expiresAt - now);
      } else {
        // Changed by another writer since it was queued: follow its new expiry.
        this.schedule(session);
      }
    });
  }

  /** Fires `expired` for a session already gone from the store, warning first if still due. */
  private expire(
    session: SessionRecord,
    now: number,
    deadline = this.scheduler.get(session.id),
    tellTabs = true,
  ): void {
    this.scheduler.cancel(session.id);
    // Another tab's `expired` came first, and this tab's storage still held the session.
    if (this.cache?.ended(session)) return;
    this.cache?.remember(session, true);
    this.warnOwed(session, deadline, now);
    this.log.debug?.(`expired ${shortId(session.id)}`);
    this.events.emit("expired", session as Session<Data>);
    if (tellTabs) this.tabs?.post("expired", [session]);
  }

  /** Fires `expiringSoon` for an expiry whose warning is still queued (`deadline` before it). */
  private warnOwed(session: SessionRecord, deadline: number | undefined, now: number): void {
    if (this.warnBefore > 0 && deadline !== undefined && deadline < session.expiresAt) {
      const msLeft = Math.max(0, session.expiresAt - now);
      this.events.emit("expiringSoon", session as Session<Data>, msLeft);
    }
  }

  private open(): void {
    if (this.closed) throw new SessionError("CLOSED", "session manager is closed");
  }

  /** Reports an error on `error`; errors of `error` listeners go to the logger only. */
  private fail(cause: unknown, event?: string): void {
    const error = cause instanceof Error ? cause : new Error(String(cause), { cause });
    if (event === "error" || !this.events.has("error")) {
      this.log.error?.(`${event ? `a ${event} listener failed` : "error"}: ${error.message}`);
    } else this.events.emit("error", error);
  }
}
