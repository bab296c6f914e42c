// Names every part of the code agrees on.

/** The namespace of a manager, store or server given none. */
export const DEFAULT_NAMESPACE = "sessionmanager";

/**
 * What the names a namespace shares between tabs start with: the tabs' channel and sweep lock,
 * the replica's outbox lock, the IndexedDB database, the web storage keys (`<scope>:<id>`).
 * `%` and `:` in the namespace are percent-encoded, so a scope has no `:` after
 * `sessionmanager:` and no namespace's names start with another's (`shop` and `shop:eu`).
 */
export function scope(namespace: string = DEFAULT_NAMESPACE): string {
  return `sessionmanager:${namespace.replace(/[%:]/g, (c) => (c === ":" ? "%3A" : "%25"))}`;
}

/** The latest time a `Date` can hold (epoch ms): the expiry of records that never expire. */
export const MAX_DATE_MS = 864e13;

/**
 * The longest delay `setTimeout` takes (~24.8 days): it fires at once for longer ones, so longer
 * waits are armed in steps of at most this much.
 */
export const MAX_TIMER_MS: number = 2 ** 31 - 1;

/** The longest session id, in characters. */
export const MAX_ID_LENGTH = 256;

/**
 * The deepest session data may nest, in objects and arrays (`[[1]]` is 2): deeper data is
 * `InvalidDataError` in the SDK and `400 INVALID_DATA` from the server, and a stored record with
 * deeper data is unreadable, so that nothing walks data far enough to overflow the stack.
 */
export const MAX_DATA_DEPTH = 64;

/**
 * The id of a record the library keeps beside the sessions (the passphrase salt, the sync
 * outbox): longer than any session id may be, so it never collides with one, and
 * `isReservedId` keeps it out of the sessions a manager lists.
 */
export function reservedId(name: string): string {
  return `sessionmanager:${name}:${"-".repeat(MAX_ID_LENGTH)}`;
}

/** Whether a stored record is one the library keeps (`reservedId`), not a session. */
export function isReservedId(id: string): boolean {
  return id.length > MAX_ID_LENGTH;
}
