import { trackActivity } from "./activity.ts";
import { isThenable } from "./awaitable.ts";
import { DEFAULT_NAMESPACE } from "./constants.ts";
import { toJsonData } from "./data.ts";
import { type Duration, parseDuration } from "./duration.ts";
import { ConflictError, SessionError, SessionExistsError, SessionNotFoundError } from "./errors.ts";
import { safeEvents } from "./events.ts";
import { createExpiry, type Expiry } from "./expiry.ts";
import { createLog, shortId } from "./log.ts";
import { corePlan, openParts, type Parts, type StorePlan } from "./open.ts";
import type {
  ActivityOptions,
  AddArgs,
  CoreSessionManagerOptions,
  SessionEvents,
  SessionManagerStatus,
} from "./options.ts";
import { capped, checkId, expiresAfter, live, record, touched } from "./session.ts";
import type { Change, Session, SessionRecord } from "./types.ts";
import { Vault } from "./vault.ts";
import { conditionalWrite, type Decision } from "./write.ts";

export type { StorePlan } from "./open.ts";

type Decide<D extends Decision> = (current: SessionRecord | undefined, now: number) => D;

// Conditional writes that keep failing mean another writer changes the same session non-stop.
const ATTEMPTS = 5;

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
  private closed = false;
  private readonly ttlMs: number;
  private readonly warnMs: number;
  private readonly parts: Parts;
  private readonly expiry: Expiry;

  constructor(options: CoreSessionManagerOptions = {}) {
    this.ttlMs = parseDuration(options.defaultTtl ?? "30m", "defaultTtl");
    const warnBefore = parseDuration(options.warnBefore ?? "1m", "warnBefore", true);
    this.warnMs = warnBefore;
    const log = createLog(options.logger, options.logLevel ?? "info", "sessionmanager:");
    const fail = (error: unknown, event?: string) => this.fail(error, event);
    const plan = this.plan(options);
    this.parts = {
      // Replaced by the opened store before any call reaches it (calls wait for `ready`).
      vault: new Vault(fail),
      emitter: safeEvents(fail),
      logs: log,
      fail,
    };
    this.expiry = createExpiry(this.parts, warnBefore);
    this.ready = this.loadParts(plan, options.namespace ?? DEFAULT_NAMESPACE);
  }

  /**
   * @internal The store and encryption that `options` ask for. Here they are objects the caller
   * imported; the root entry's manager overrides this to take names and plain options too.
   */
  protected plan(options: CoreSessionManagerOptions): StorePlan {
    return corePlan(options);
  }

  /** `"loading"` until stored sessions are read, then `"ready"`. */
  get status(): SessionManagerStatus {
    return this.state;
  }

  /** Adds a session; rejects with `SessionExistsError` while a live one has this id. */
  async add(id: string, ...[options]: AddArgs<Data>): Promise<Session<Data>> {
    const ttl = options?.ttl === undefined ? this.ttlMs : parseDuration(options.ttl);
    const cap = options?.maxAge;
    const maxAge = cap === undefined ? cap : parseDuration(cap, "maxAge");
    const data = toJsonData(options?.data);
    let existing: SessionRecord | undefined;
    const session = await this.writeSession("add", id, (current, now) => {
      if (current && current.expiresAt > now) throw new SessionExistsError(id);
      existing = current;
      const expiresAt = capped(expiresAfter(now, ttl), { createdAt: now, maxAge });
      return record(id, data, now, now, expiresAt, ttl, 1, maxAge);
    });
    // The id held a session that had expired without being swept: it ends first (and the new
    // one, which may share its createdAt to the millisecond, stays what the cache knows).
    if (existing) {
      this.expiry.expire(existing, session.createdAt);
      this.parts.tabCache?.remember(session);
    }
    this.expiry.schedule(session);
    return this.publish("added", session);
  }

  /** The live session with this id, or `undefined` (an expired session counts as absent). */
  async get(id: string): Promise<Session<Data> | undefined> {
    this.checkOpen();
    checkId(id);
    if (this.state === "loading") await this.ready;
    const { vault: store, tabCache: cache, logs: log } = this.parts;
    log.debug?.(`get ${shortId(id)}`);
    let found = cache?.get(id);
    if (found === undefined) {
      const stored = store.get(id);
      // The memory store answers synchronously: awaiting only real promises saves a tick per read.
      found = isThenable(stored) ? await stored : stored;
      if (found) cache?.remember(found);
    }
    // Records are sessions of any `Data`: this manager's callers get its own.
    return found && found.expiresAt > Date.now() ? (found as Session<Data>) : undefined;
  }

  /** Like `get`, but rejects with `SessionNotFoundError` instead of returning `undefined`. */
  async getOrThrow(id: string): Promise<Session<Data>> {
    const session = await this.get(id);
    if (!session) throw new SessionNotFoundError(id);
    return session;
  }

  /** Whether a live session has this id (an expired one counts as absent). */
  async has(id: string): Promise<boolean> {
    return (await this.get(id)) !== undefined;
  }

  /** Extends a session: `expiresAt = now + (ttl ?? session.ttl)`. `session.ttl` is kept. */
  async touch(id: string, ttl?: Duration): Promise<Session<Data>> {
    const extend = ttl === undefined ? undefined : parseDuration(ttl);
    const session = await this.touchWith(id, (current, now) =>
      touched(live(id, current, now), now, extend),
    );
    return session as Session<Data>;
  }

  /**
   * Keeps session `id` alive while the user is active (pointer, keys, wheel, touch, the page
   * becoming visible) on `options.target` (default `document`; in Node, nothing unless given):
   * touches it at most once per `throttle`, counted across every tab of the namespace. It never
   * revives a session that expired or was removed, nor extends one past its `maxAge`; it follows
   * a rotation to the new id. A failed touch is reported on `error`. Returns the function that
   * stops listening.
   * @example
   * const stop = sm.trackActivity(session.id); // on sign-out: stop()
   */
  trackActivity(id: string, options?: ActivityOptions): () => void {
    this.checkOpen();
    return trackActivity(id, options, {
      warnMs: this.warnMs,
      on: (event, listener) => this.parts.emitter.on(event, listener),
      extend: (key, decide) => this.touchWith(key, decide),
      report: this.parts.fail,
    });
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
    const session = await this.writeSession("update", id, (current, now) => {
      const c = live(id, current, now);
      previous = c;
      const value = updater ? toJsonData(updater(c.data as Data)) : data;
      return record(id, value, c.createdAt, now, c.expiresAt, c.ttl, c.version + 1, c.maxAge);
    });
    return this.publish("updated", session, previous);
  }

  /**
   * Moves a live session to a fresh `createSessionId()` (same data and expiry; the old id stops
   * working), for the moment a user signs in or gains rights; `rotated` fires with the old id.
   */
  async rotate(id: string): Promise<Session<Data>> {
    this.checkOpen();
    checkId(id);
    if (this.state === "loading") await this.ready;
    // Loaded on first use: most pages never rotate (~195 B gzip off every split manager bundle).
    const { rotateRecord } = await import("./rotate.ts");
    const [session, previous] = await rotateRecord(this.parts.vault, id);
    this.moved(session, previous);
    return this.publish("rotated", session, previous);
  }

  /** Ends a session; `false` if there was no live one. */
  async remove(id: string): Promise<boolean> {
    // An expired session is absent: left to the sweep, which removes it and fires `expired`.
    let removed: SessionRecord | undefined;
    const deleted = await this.writeSession("remove", id, (current, now) => {
      removed = current;
      return current && current.expiresAt > now ? null : undefined;
    });
    if (deleted === undefined || !removed) return false;
    this.expiry.cancel(id);
    this.publish("removed", removed);
    return true;
  }

  /** Every live session. */
  async list(): Promise<Session<Data>[]> {
    this.checkOpen();
    if (this.state === "loading") await this.ready;
    const { vault: store, tabCache: cache, logs: log } = this.parts;
    const stored = await store.list();
    const all = cache ? cache.merge(stored) : stored;
    const now = Date.now();
    log.debug?.(`list ${all.length}`);
    return all.filter((s) => s.expiresAt > now) as Session<Data>[];
  }

  /** Removes every session of this namespace; `removed` fires for each live one. */
  async clear(): Promise<void> {
    this.checkOpen();
    if (this.state === "loading") await this.ready;
    const { vault: store, tabCache: cache, emitter: events, tabs, logs: log } = this.parts;
    const live = events.has("removed") || tabs ? await this.list() : [];
    await store.clear();
    this.expiry.clear();
    cache?.forgetAll();
    log.debug?.("clear");
    for (const session of live) this.publish("removed", session);
  }

  /** Removes expired sessions from the store now, firing `expired` for each; returns how many. */
  async purgeExpired(): Promise<number> {
    this.checkOpen();
    if (this.state === "loading") await this.ready;
    const { vault: store, logs: log } = this.parts;
    const now = Date.now();
    const { count, sessions } = await store.purgeExpired(now);
    for (const session of sessions) this.expiry.expire(session, now);
    log.debug?.(`purgeExpired ${count}`);
    return count;
  }

  /**
   * Subscribes to an event; returns the function that unsubscribes. A listener that throws
   * (or rejects) does not disturb the manager or other listeners: its error goes to `error`.
   * @example
   * const off = sm.on("removed", (session) => console.log("signed out", session.id));
   */
  on<E extends keyof SessionEvents<Data>>(event: E, listener: SessionEvents<Data>[E]): () => void {
    // Events carry records, which are sessions of any `Data`: this manager's listeners take its own.
    return this.parts.emitter.on(event, listener as SessionEvents[E]);
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
    this.expiry.stop();
    this.parts.emitter.clear();
    await this.ready; // the store may still be opening
    this.parts.tabs?.close();
    await this.parts.vault.close();
  }

  private async loadParts(plan: StorePlan, namespace: string): Promise<void> {
    await openParts(this.parts, plan, namespace, {
      heard: (event, records) => this.heard(event, records),
      fellBack: (reason) => {
        this.state = "degraded";
        this.parts.logs.warn?.(`${reason.message}; keeping sessions in memory`);
        this.parts.emitter.emit("degraded", reason);
      },
      loaded: (session) => this.expiry.schedule(session),
      closed: () => this.closed,
    });
    if (this.state === "loading") this.state = "ready";
  }

  /**
   * Writes what `decide` makes of the session (a record to store, `null` to delete, `undefined`
   * to leave it) under the version it read, again if another writer came between. Resolves to
   * what `decide` returned the last time.
   */
  private async writeSession<D extends Decision>(
    op: string,
    id: string,
    decide: Decide<D>,
  ): Promise<D> {
    this.checkOpen();
    checkId(id);
    if (this.state === "loading") await this.ready;
    const { vault: store, tabCache: cache, logs: log } = this.parts;
    let current: SessionRecord | undefined;
    const next = await conditionalWrite({
      store,
      // The first attempt writes without reading where it can (one round trip rather than two):
      // an add `ifAbsent`, a change on the live copy this tab knows `ifVersion`. If the store
      // holds something else, the write is refused and the next attempt reads.
      read: (attempt) => {
        const known = attempt === 0 && op !== "add" ? cache?.get(id) : undefined;
        return attempt === 0 && (op === "add" || (known && known.expiresAt > Date.now()))
          ? known || undefined
          : store.get(id);
      },
      // A record this manager cannot decrypt reads as absent (reported): `add` replaces it.
      decide: (stored) => {
        current = stored;
        return decide(stored, Date.now());
      },
      attempts: ATTEMPTS,
      conflict: () => new ConflictError(`${op} of ${shortId(id)} kept losing to other writers`),
    });
    if (next !== undefined) {
      const known = next ?? current;
      if (cache && known) cache.remember(known, !next);
      log.debug?.(`${op} ${shortId(id)}`);
    }
    return next;
  }

  /** Writes the touch `decide` makes (or nothing); a written one re-arms its warning, `touched`. */
  private async touchWith<D extends SessionRecord | undefined>(id: string, decide: Decide<D>) {
    const session = await this.writeSession("touch", id, decide);
    if (session) {
      this.expiry.schedule(session);
      this.publish("touched", session);
    }
    return session;
  }

  /** Emits a change here and tells the other tabs, which emit it there. */
  private publish(event: Change, session: SessionRecord, previous?: SessionRecord): Session<Data> {
    this.notify(event, session, previous);
    this.parts.tabs?.post(event, previous ? [session, previous] : [session]);
    return session as Session<Data>;
  }

  /** Fires a change to this manager's listeners (`updated` also carries the previous copy). */
  private notify(event: Change, session: SessionRecord, previous = session): void {
    const { emitter: events } = this.parts;
    if (event === "updated") events.emit(event, session, previous);
    else if (event === "rotated") events.emit(event, session, previous.id);
    else events.emit(event, session);
  }

  /** A session rotated, here or in another tab: the old id ended, the new one has its deadline. */
  private moved(session: SessionRecord, previous: SessionRecord): void {
    const { tabCache: cache } = this.parts;
    cache?.remember(previous, true);
    cache?.remember(session);
    this.expiry.move(previous.id, session);
  }

  /** A change made in another tab: follow it here, and emit it to this tab's listeners. */
  private heard(event: Change, [session, previous]: SessionRecord[]): void {
    if (this.closed || !session) return;
    const { tabCache: cache } = this.parts;
    const gone = event === "removed" || event === "expired";
    // Already ended here: this tab swept it too, from storage that had not caught up yet.
    if (gone && cache?.ended(session)) return;
    if (event === "expired") {
      this.expiry.expire(session, Date.now(), false);
      return;
    }
    if (event === "rotated" && previous) {
      this.moved(session, previous);
      this.notify(event, session, previous);
      return;
    }
    cache?.remember(session, gone);
    if (gone) this.expiry.cancel(session.id);
    else this.expiry.schedule(session); // a touch there moves (or cancels) the warning here
    this.notify(event, session, previous);
  }

  private checkOpen(): void {
    if (this.closed) throw new SessionError("CLOSED", "session manager is closed");
  }

  /** Reports an error on `error`; errors of `error` listeners go to the logger only. */
  private fail(cause: unknown, event?: string): void {
    const error = cause instanceof Error ? cause : new Error(String(cause), { cause });
    const { emitter: events, logs: log } = this.parts;
    if (event === "error" || !events.has("error")) {
      log.error?.(`${event ? `a ${event} listener failed` : "error"}: ${error.message}`);
    } else events.emit("error", error);
  }
}
