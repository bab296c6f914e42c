// express-session reads a session when a request starts and touches it when the request ends:
// what the read saw tells the touch whether it would move the expiry at all. A burst of requests
// on one session (a page and its XHRs) then writes once a second, not once per request.

/**
 * Expiries this close to the one asked for are left as they are (connect-redis rounds to
 * seconds), or a tenth of the ttl for short ones: a write saved never costs a session its life.
 */
export function tolerance(ttl: number): number {
  return Math.min(1000, ttl / 10);
}
// How long what a read saw is trusted: another process may change the session meanwhile.
const TRUSTED_MS = 1000;
// Sessions remembered at most (the least recently learnt go first).
const MAX_REMEMBERED = 10_000;

/** The stored expiries of the sessions this store read or wrote in the last second. */
export class KnownExpiries {
  private readonly known = new Map<string, { expiresAt: number; learnt: number }>();

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

  /** Whether `sid`, seen in the last second, already ends within `tolerance(ttl)` of now + `ttl`. */
  endsNear(sid: string, ttl: number): boolean {
    const seen = this.known.get(sid);
    const now = Date.now();
    if (!seen || now - seen.learnt >= TRUSTED_MS) return false;
    return Math.abs(seen.expiresAt - (now + ttl)) < tolerance(ttl);
  }
}
