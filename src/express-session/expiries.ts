// express-session reads a session when a request starts and touches it when the request ends:
// what the read saw tells the touch whether it would move the expiry enough to be worth a write.
// An active user's session is then written about once a minute, not once per request, and a read
// costs one store command where connect-redis spends two (GET and EXPIRE).

import { touchTolerance } from "../session.ts";

// How long what a read saw is trusted: another process may change the session meanwhile.
const TRUSTED_MS = 1000;
// Sessions remembered at most (the least recently learnt go first).
const MAX_REMEMBERED = 10_000;

/**
 * The stored expiries of the sessions this store read or wrote in the last second, and the
 * touches under way: parallel requests of one browser (a page's XHRs) each end with a touch of
 * the same session, which would otherwise race each other's conditional writes.
 */
export class KnownExpiries {
  private readonly known = new Map<string, { expiresAt: number; learnt: number }>();
  private readonly touching = new Map<string, { expiresAt: number; done: Promise<void> }>();

  /** What the store just read or wrote for `sid`. */
  learn(sid: string, expiresAt: number): void {
    this.known.delete(sid); // re-inserted last: the Map's order is the eviction order
    this.known.set(sid, { expiresAt, learnt: Date.now() });
    if (this.known.size > MAX_REMEMBERED)
      this.known.delete(this.known.keys().next().value as string);
  }

  forget(sid: string): void {
    this.known.delete(sid);
  }

  /** A touch of `sid` under way that ends it about now + `ttl`: wait for it rather than write. */
  pending(sid: string, ttl: number): Promise<void> | undefined {
    const under = this.touching.get(sid);
    const close = under && Math.abs(under.expiresAt - (Date.now() + ttl)) < touchTolerance(ttl);
    return close ? under.done : undefined;
  }

  /** Runs the touch of `sid` to `ttl`, known as under way until it settles. */
  track(sid: string, ttl: number, touch: () => Promise<void>): Promise<void> {
    const done = touch().finally(() => {
      if (this.touching.get(sid)?.done === done) this.touching.delete(sid);
    });
    this.touching.set(sid, { expiresAt: Date.now() + ttl, done });
    return done;
  }

  /** Whether `sid`, seen in the last second, already ends within `touchTolerance(ttl)` of now + `ttl`. */
  endsNear(sid: string, ttl: number): boolean {
    const seen = this.known.get(sid);
    const now = Date.now();
    if (!seen || now - seen.learnt >= TRUSTED_MS) return false;
    return Math.abs(seen.expiresAt - (now + ttl)) < touchTolerance(ttl);
  }
}
