// Names every part of the code agrees on.

/** The namespace of a manager, store or server given none. */
export const DEFAULT_NAMESPACE = "sessionmanager";

/**
 * What the names a namespace shares between tabs start with: the tabs' channel and sweep lock,
 * the replica's outbox lock, the IndexedDB database, the web storage keys (`<scope>:<id>`).
 */
export function scope(namespace: string = DEFAULT_NAMESPACE): string {
  return `sessionmanager:${namespace}`;
}
