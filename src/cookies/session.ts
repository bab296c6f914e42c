// One request's session: what the store had for the cookie's id, the changes the handler makes
// (through the manager), and the Set-Cookie those changes need. The cookie only ever carries an
// id this process signed; everything else is read from the store.
import { SessionNotFoundError } from "../errors.ts";
import { createSessionId } from "../session.ts";
import type { Session } from "../types.ts";
import { type CookieShape, clearCookie, setCookie } from "./cookie.ts";
import type { Signer } from "./signing.ts";
import type { CookieSession } from "./types.ts";

/** What every session of one `cookieSessions()` shares. */
export interface SessionContext {
  /** The manager, as the core sees it (any `Data`). */
  readonly manager: {
    get(id: string): Promise<Session | undefined>;
    touch(id: string): Promise<Session>;
    add(id: string, options: { data?: unknown; ttl: number; maxAge: number }): Promise<Session>;
    update(id: string, data: unknown): Promise<Session>;
    rotate(id: string): Promise<Session>;
    remove(id: string): Promise<boolean>;
  };
  readonly signer: Signer;
  readonly ttl: number;
  readonly maxAge: number;
}

/** The Set-Cookie a session still has to send: a value, a removal (null), or nothing. */
type Outgoing = string | null | undefined;

export class RequestSession<Data> implements CookieSession<Data> {
  private current: Session | undefined;
  private outgoing: Outgoing;
  // One change at a time: two set() calls on a new session must not create two sessions. Made by
  // the first change: most requests only read.
  private queue: Promise<unknown> | undefined;

  constructor(
    private readonly context: SessionContext,
    private readonly shape: CookieShape,
    found: Session | undefined,
    // The request carried a cookie that leads nowhere (forged, edited, ended): it is removed.
    stale: boolean,
  ) {
    this.current = found;
    this.outgoing = stale ? null : undefined;
  }

  get id(): string | undefined {
    return this.current?.id;
  }

  get data(): Data | undefined {
    // A session made without data holds null in the store: none, as the contract says.
    return (this.current?.data ?? undefined) as Data | undefined;
  }

  get expiresAt(): number | undefined {
    return this.current?.expiresAt;
  }

  set(data: Data): Promise<void> {
    return this.serially(async () => {
      if (!this.current) return this.start(data);
      // A session that ended meanwhile (signed out by another request) is not brought back
      // under a new id with data read before the sign-out: SessionNotFoundError, cookie cleared.
      try {
        this.current = await this.context.manager.update(this.current.id, data);
      } catch (error) {
        if (isGone(error)) this.ended();
        throw error;
      }
    });
  }

  rotate(data?: Data): Promise<void> {
    return this.serially(async () => {
      const { manager } = this.context;
      let moved: Session | undefined;
      try {
        moved = this.current && (await manager.rotate(this.current.id));
      } catch (error) {
        if (!isGone(error)) throw error;
      }
      // No session (or it ended meanwhile): signing in starts one.
      if (!moved) return this.start(data);
      this.current = moved;
      // The cookie follows the new id even if the data's write below fails: the old id is gone.
      await this.issue(moved);
      if (data !== undefined) this.current = await manager.update(moved.id, data);
    });
  }

  destroy(): Promise<void> {
    return this.serially(async () => {
      if (this.current) await this.context.manager.remove(this.current.id);
      this.ended();
    });
  }

  /** The Set-Cookie values this session needs sent now. */
  setCookies(): string[] {
    const { outgoing } = this;
    if (outgoing === undefined) return [];
    return [outgoing === null ? clearCookie(this.shape) : outgoing];
  }

  /** The values are on their way: another commit sends only what changes after this. */
  sent(): void {
    this.outgoing = undefined;
  }

  private async start(data: Data | undefined): Promise<void> {
    const { manager, ttl, maxAge } = this.context;
    const session = await manager.add(createSessionId(), {
      ...(data === undefined ? {} : { data }),
      ttl,
      maxAge,
    });
    this.current = session;
    await this.issue(session);
  }

  /** Queues the cookie for `session`, kept by the browser until the session's lifetime cap. */
  private async issue(session: Session): Promise<void> {
    const value = await this.context.signer.sign(session.id);
    const end =
      session.maxAge === undefined ? session.expiresAt : session.createdAt + session.maxAge;
    this.outgoing = setCookie(this.shape, value, end);
  }

  private ended(): void {
    this.current = undefined;
    this.outgoing = null;
  }

  private serially<T>(change: () => Promise<T>): Promise<T> {
    const run = (this.queue ?? Promise.resolve()).then(change);
    this.queue = run.catch(() => {});
    return run;
  }
}

/** Whether an error means the session is gone (so the request has none), not a failure. */
export function isGone(error: unknown): boolean {
  return error instanceof SessionNotFoundError;
}
