// What changed between two copies of a session: the event the manager fires for a change another
// client made (added, touched, updated, removed), and whether a server's copy is news at all.

import type { SessionRecord, StoreChange, StoreContext } from "../stores/types.ts";

/**
 * A session this close to its expiry is left to the expiry timers, here and on the server: the
 * clocks agree this closely. One the server no longer lists is not `removed` here (its timer
 * fires `expired`), and one the server still lists is not taken back once it expired here.
 * @internal
 */
export const EXPIRY_MARGIN_MS = 1000;

/**
 * What `StoreContext.changed` tells the manager of a change another client made: the event,
 * and its records (`updated` takes the previous copy too). `after` absent: removed. @internal
 */
export function changeOf(
  before: SessionRecord | undefined,
  after: SessionRecord | undefined,
): [StoreChange, SessionRecord[]] | undefined {
  if (!after) return before && ["removed", [before]];
  if (!before) return ["added", [after]];
  return sameData(before.data, after.data) ? ["touched", [after]] : ["updated", [after, before]];
}

/** Tells the manager (and through it the other tabs) of a change it did not make. @internal */
export function announce(
  context: StoreContext | undefined,
  before: SessionRecord | undefined,
  after: SessionRecord | undefined,
): void {
  const change = changeOf(before, after);
  if (change) context?.changed?.(...change);
}

/**
 * Whether the server's copy of a session is another state than the local one. At the same
 * version it is the same write (a version is never reused for another), so an `expiresAt` apart
 * by more than the margin only says that the clock offset was re-estimated since the copy was
 * converted: not a change another client made, and taking it would echo this client's own write
 * back to its listeners as `touched` (as a pull cued by the event stream right after a push would).
 * @internal
 */
export function differs(local: SessionRecord, server: SessionRecord): boolean {
  if (local.version !== server.version) return true;
  return local.ttl !== server.ttl || !sameData(local.data, server.data);
}

/**
 * Deep equality of two JSON values. A key of one that the other lacks reads there as
 * `undefined` (or as an inherited function), which no JSON value equals. @internal
 */
export function sameData(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (!isRecord(a) || !isRecord(b)) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => sameData(a[k], b[k]));
}

/** An object (an array too) whose properties are read one by one and checked. @internal */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}
