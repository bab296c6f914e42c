import { type SessionData, Store } from "express-session";
import { isSessionError } from "../errors.ts";
import type { SessionManager } from "../manager.ts";
import { ServerSideManager } from "../server-side-manager.ts";
import { touchTolerance } from "../session.ts";
import { type Callback, settle } from "./callback.ts";
import { copyOut } from "./copy.ts";
import { KnownExpiries } from "./expiries.ts";
import {
  checkManagerOptions,
  checkMigrated,
  type Lifetime,
  lifetimeOf,
  type SessionManagerStoreOptions,
  STORE_NAMESPACE,
} from "./options.ts";

// Rounds of a set that keeps losing to other writers of the session before it reports ConflictError.
const WRITE_ROUNDS = 3;

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
      this.manager = new ServerSideManager<SessionData>({ namespace: STORE_NAMESPACE, ...rest });
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
    // No upsert in the manager's API: replace the data of a live session, or create it. A create
    // that loses to a parallel request's replaces; a replace that keeps losing to other writers
    // of the session (its user's parallel requests) tries again, as the last write wins.
    for (let round = 1; ; round++) {
      try {
        return await this.replace(sid, session, ttl);
      } catch (error) {
        const absent = hasCode(error, "SESSION_NOT_FOUND");
        if (round >= WRITE_ROUNDS || !(absent || hasCode(error, "CONFLICT"))) throw error;
        if (!absent) continue;
      }
      try {
        this.expiries.learn(sid, (await this.manager.add(sid, { data: session, ttl })).expiresAt);
        return;
      } catch (error) {
        if (!hasCode(error, "SESSION_EXISTS")) throw error;
      }
    }
  }

  /** Replaces the data of live session `sid` and moves its expiry (`SESSION_NOT_FOUND`: none). */
  private async replace(sid: string, session: SessionData, ttl: number): Promise<void> {
    const { manager, expiries } = this;
    // The manager copies the data as JSON would (the cookie's toJSON included) and refuses what
    // JSON would silently lose. The one this store built writes data and expiry at once.
    if (manager instanceof ServerSideManager) {
      return expiries.learn(sid, (await manager.replace(sid, session, ttl)).expiresAt);
    }
    const replaced = await manager.update(sid, session);
    // Saved again moments after its last write: the expiry it has is the one asked for.
    if (Math.abs(replaced.expiresAt - (Date.now() + ttl)) < touchTolerance(ttl)) {
      return expiries.learn(sid, replaced.expiresAt);
    }
    try {
      expiries.learn(sid, (await manager.touch(sid, ttl)).expiresAt);
    } catch (error) {
      // The data is written. Since then another request wrote it (and extended it as far) or
      // destroyed it (which came last, then).
      if (!hasCode(error, "CONFLICT") && !hasCode(error, "SESSION_NOT_FOUND")) throw error;
    }
  }

  private async extend(sid: string, session: SessionData): Promise<void> {
    if (this.disableTouch) return;
    const ttl = this.lifetime(session);
    if (ttl <= 0) return this.remove(sid);
    const { expiries } = this;
    // Read a moment ago (this request's get) and ending about then already, or being touched
    // to about then by a parallel request: nothing more to write.
    if (expiries.endsNear(sid, ttl)) return;
    const under = expiries.pending(sid, ttl);
    if (under) return under;
    return expiries.track(sid, ttl, async () => {
      try {
        expiries.learn(sid, (await this.manager.touch(sid, ttl)).expiresAt);
      } catch (error) {
        // Nothing to extend: it ended (or never was), as EXPIRE on a missing key does nothing.
        // Or other writers kept changing it meanwhile: requests of the same user, which
        // extended it as far.
        if (!hasCode(error, "SESSION_NOT_FOUND") && !hasCode(error, "CONFLICT")) throw error;
      }
    });
  }

  private async remove(sid: string): Promise<void> {
    this.expiries.forget(sid);
    await this.manager.remove(sid);
  }

  private async listed<T>(map: (sessions: { id: string }[]) => T): Promise<T> {
    return map(await this.manager.list());
  }
}

function hasCode(error: unknown, code: string): boolean {
  return isSessionError(error) && error.code === code;
}
