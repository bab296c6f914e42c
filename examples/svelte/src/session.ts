// The page's one SessionManager: sessions in IndexedDB, so they survive reloads and every tab of
// the page sees the same sign-in (a sign-out in one tab signs out all of them).
import { type Duration, parseDuration, SessionManager } from "sessionmanager-js/core";
import { indexedDBStore } from "sessionmanager-js/stores/indexeddb";

/** What the session holds about the signed-in user. */
export interface Account {
  name: string;
}

// `?ttl=20s&warnBefore=10s` in the address shows the dialog sooner.
const params = new URLSearchParams(location.search);
function fromAddress(name: string, fallback: Duration): Duration {
  const value = params.get(name);
  return value === null ? fallback : parseDuration(value, name);
}
const namespace = "example-svelte";

export const manager = new SessionManager<Account>({
  backend: indexedDBStore({ namespace }),
  namespace,
  defaultTtl: fromAddress("ttl", "2m"),
  warnBefore: fromAddress("warnBefore", "1m"),
});

/**
 * The signed-in user's session. One user per browser here, so the id is fixed; an app whose
 * server signs users in would use the session id its server gave.
 */
export const SESSION_ID = "current-user";

/** `ms` as a countdown: `m:ss`, rounded up to the second. */
export function countdown(ms: number | undefined): string {
  const seconds = Math.ceil((ms ?? 0) / 1000);
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
}
