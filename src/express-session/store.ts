import { type SessionData, Store } from "express-session";
import { isSessionError } from "../errors.ts";
import type { SessionManager } from "../manager.ts";
import { SessionManager as RootSessionManager } from "../root-manager.ts";
import { type Callback, settle } from "./callback.ts";
import { KnownExpiries, tolerance } from "./expiries.ts";
import {
  checkManagerOptions,
  checkMigrated,
  type Lifetime,
  lifetimeOf,
  type SessionManagerStoreOptions,
  STORE_NAMESPACE,
} from "./options.ts";

/** A session as `all()` lists it: its data and, as connect-redis adds it, its `id`. */
export type ListedSession = SessionData & {
  /** The session's id (its `sid`). */
  id: string;
};

/**
 * An express-session `Store` on a {@link SessionManager}: any backend of the root entry (file,
 * SQLite, PostgreSQL, Redis, Memcached, memory), the session's lifetime from its cookie, and the
 * manager's events (`store.manager.onExpiringSoon(...)`) on the server. Every method takes
 * express-session's callback, or returns a promise without one.
 * @example
 * app.use(session({
 *   store: new SessionManagerStore({ backend: "redis", url: "redis://127.0.0.1:6379" }),
 *   secret: process.env.SESSION_SECRET, resave: false, saveUninitialized: false,
 * }));
 */
export class SessionManagerStore extends Store {
  /** The manager that keeps the sessions: its events, `list()`, `purgeExpired()`, … */
  readonly manager: SessionManager<SessionData>;
  /** Whether `touch` does nothing (the `disableTouch` option). */
  readonly disableTouch: boolean;
  private readonly ownsManager: boolean;
  private readonly lifetime: Lifetime;
  private readonly expiries = new KnownExpiries();

  constructor(options: SessionManagerStoreOptions = {}) {
    super();
    const { ttl, disableTouch = false, ...rest } = options;
    this.lifetime = lifetimeOf(ttl);
    this.disableTouch = disableTouch;
    if (rest.manager) {
      checkManagerOptions(rest);
      this.manager = rest.manager as SessionManager<SessionData>;
      this.ownsManager = false;
    } else {
      checkMigrated(rest);
      this.manager = new RootSessionManager<SessionData>({ namespace: STORE_NAMESPACE, ...rest });
      this.ownsManager = true;
    }
  }

  /** The session `sid`, or `null` when there is none (or it expired). */
  get(sid: string): Promise<SessionData | null>;
  get(sid: string, callback: Callback<SessionData | null>): void;
  get(
    sid: string,
    callback?: Callback<SessionData | null>,
  ): Promise<SessionData | null> | undefined {
    return settle(this.read(sid), callback);
  }

  /**
   * Creates or replaces session `sid`, ending when its cookie does (or `ttl` after now when the
   * cookie has no expiry); a cookie that has already expired destroys it.
   */
  set(sid: string, session: SessionData): Promise<void>;
  set(sid: string, session: SessionData, callback?: Callback<void>): void;
  set(sid: string, session: SessionData, callback?: Callback<void>): Promise<void> | undefined {
    return settle(this.write(sid, session), callback);
  }

  /**
   * Extends session `sid` to its cookie's expiry, keeping its data; nothing when it does not
   * exist, or with `disableTouch`.
   */
  override touch(sid: string, session: SessionData): Promise<void>;
  override touch(sid: string, session: SessionData, callback?: Callback<void>): void;
  override touch(
    sid: string,
    session: SessionData,
    callback?: Callback<void>,
  ): Promise<void> | undefined {
    return settle(this.extend(sid, session), callback);
  }

  /** Ends session `sid` (nothing when there is none). */
  destroy(sid: string): Promise<void>;
  destroy(sid: string, callback?: Callback<void>): void;
  destroy(sid: string, callback?: Callback<void>): Promise<void> | undefined {
    return settle(this.remove(sid), callback);
  }

  /** Every live session of the store's namespace, each with its `id`. */
  override all(): Promise<ListedSession[]>;
  override all(callback: Callback<ListedSession[]>): void;
  override all(callback?: Callback<ListedSession[]>): Promise<ListedSession[]> | undefined {
    const listing = this.manager
      .list()
      .then((sessions) => sessions.map((s) => ({ ...copyOut(s.data), id: s.id })));
    return settle(listing, callback);
  }

  /** The ids of every live session of the store's namespace. */
  ids(): Promise<string[]>;
  ids(callback: Callback<string[]>): void;
  ids(callback?: Callback<string[]>): Promise<string[]> | undefined {
    return settle(
      this.listed((sessions) => sessions.map((s) => s.id)),
      callback,
    );
  }

  /** How many live sessions the store's namespace holds. */
  override length(): Promise<number>;
  override length(callback: Callback<number>): void;
  override length(callback?: Callback<number>): Promise<number> | undefined {
    return settle(
      this.listed((sessions) => sessions.length),
      callback,
    );
  }

  /** Ends every session of the store's namespace (and no other). */
  override clear(): Promise<void>;
  override clear(callback?: Callback<void>): void;
  override clear(callback?: Callback<void>): Promise<void> | undefined {
    return settle(this.manager.clear(), callback);
  }

  /** Closes the manager if the store built it (one passed in is left open: it is yours). */
  async close(): Promise<void> {
    if (this.ownsManager) await this.manager.close();
  }

  private async read(sid: string): Promise<SessionData | null> {
    const found = await this.manager.get(sid);
    if (!found) return null;
    this.expiries.learn(sid, found.expiresAt);
    return copyOut(found.data);
  }

  private async write(sid: string, session: SessionData): Promise<void> {
    const ttl = this.lifetime(session);
    if (ttl <= 0) return this.remove(sid);
    const { manager } = this;
    // The manager copies the data as JSON would (the cookie's toJSON included) and refuses what
    // JSON would silently lose. No upsert in its API: replace the data of a live session and
    // move its expiry, or create it; a create that loses a race to another request replaces.
    for (let attempt = 0; ; attempt++) {
      try {
        const replaced = await manager.update(sid, session);
        // Saved again moments after its last write: the expiry it has is the one asked for.
        const drift = Math.abs(replaced.expiresAt - (Date.now() + ttl));
        const { expiresAt } = drift < tolerance(ttl) ? replaced : await manager.touch(sid, ttl);
        this.expiries.learn(sid, expiresAt);
        return;
      } catch (error) {
        if (!hasCode(error, "SESSION_NOT_FOUND") || attempt > 0) throw error;
      }
      try {
        this.expiries.learn(sid, (await manager.add(sid, { data: session, ttl })).expiresAt);
        return;
      } catch (error) {
        if (!hasCode(error, "SESSION_EXISTS")) throw error;
      }
    }
  }

  private async extend(sid: string, session: SessionData): Promise<void> {
    if (this.disableTouch) return;
    const ttl = this.lifetime(session);
    if (ttl <= 0) return this.remove(sid);
    // Read a moment ago (this request's get) and ending about then already: nothing to move.
    if (this.expiries.endsNear(sid, ttl)) return;
    try {
      this.expiries.learn(sid, (await this.manager.touch(sid, ttl)).expiresAt);
    } catch (error) {
      // Nothing to extend: it ended (or never was), as EXPIRE on a missing key does nothing.
      if (!hasCode(error, "SESSION_NOT_FOUND")) throw error;
    }
  }

  private async remove(sid: string): Promise<void> {
    this.expiries.forget(sid);
    await this.manager.remove(sid);
  }

  private async listed<T>(map: (sessions: { id: string }[]) => T): Promise<T> {
    return map(await this.manager.list());
  }
}

/**
 * A mutable copy of stored data: the manager's is frozen, and express-session rebuilds the
 * cookie in place (`createSession` sets `sess.cookie`).
 */
function copyOut(data: SessionData): SessionData {
  return JSON.parse(JSON.stringify(data)) as SessionData;
}

function hasCode(error: unknown, code: string): boolean {
  return isSessionError(error) && error.code === code;
}
