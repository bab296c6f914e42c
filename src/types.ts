// Types that the rest of the code shares and that depend on nothing.

/** A session as the manager returns it: frozen, times in epoch ms, `ttl` in ms. */
export interface Session<Data = unknown> {
  /** The id given to `add` (or made by `rotate`): 1 to 256 characters. */
  readonly id: string;
  /** The data, as JSON keeps it (frozen): `null` when `add` was given none. */
  readonly data: Data;
  /** When it was added, in epoch ms (kept by `rotate`). */
  readonly createdAt: number;
  /** When it last changed (`add`, `touch`, `update`), in epoch ms. */
  readonly updatedAt: number;
  /** When it expires, in epoch ms: from then on it reads as absent. */
  readonly expiresAt: number;
  /** Its lifetime in ms: how far `touch` without a ttl moves `expiresAt` from now. */
  readonly ttl: number;
  /** 1 when added; grows by one on every change (touch, update). */
  readonly version: number;
  /** `add`'s cap on the whole lifetime, in ms: never alive past `createdAt + maxAge`. Absent: none. */
  readonly maxAge?: number;
}

/**
 * A change to a session that other tabs and other clients hear about. `rotated` (the session
 * under its new id, then the record of the old id) goes between tabs: other devices and
 * processes see a rotation as the new id added and the old one removed.
 */
export type Change = "added" | "updated" | "touched" | "removed" | "expired" | "rotated";

/** Every `Change`, for checking messages from elsewhere. */
export const CHANGES: readonly string[] = [
  "added",
  "updated",
  "touched",
  "removed",
  "expired",
  "rotated",
];

/**
 * What a store keeps for one session. The manager hands stores frozen records and never
 * mutates one it got back; `data` is already JSON-safe (or, with encryption, a JWE string).
 */
export interface SessionRecord {
  /** The session's id. */
  readonly id: string;
  /** The session's data, JSON-safe; with `encrypted`, a compact JWE string. */
  readonly data: unknown;
  /** When the session was added, in epoch ms. */
  readonly createdAt: number;
  /** When the session last changed, in epoch ms. */
  readonly updatedAt: number;
  /** When the session expires, in epoch ms; the store may still hold it after. */
  readonly expiresAt: number;
  /** The session's lifetime in ms. */
  readonly ttl: number;
  /** 1 when added, one more on every change: what `{ ifVersion }` compares. */
  readonly version: number;
  /** The lifetime cap in ms: `expiresAt` never passes `createdAt + maxAge`. Absent: no cap. */
  readonly maxAge?: number;
  /** `data` is a compact JWE (encryption at rest); absent when it is plain JSON. */
  readonly encrypted?: true;
}

/**
 * A conditional write, so that `SESSION_EXISTS` and version checks hold across tabs and processes:
 * `{ ifAbsent: true }` writes only if the store has no record with that id (live or not);
 * `{ ifVersion: n }` writes only if the stored record has version `n`.
 */
export type WriteCondition = { readonly ifAbsent: true } | { readonly ifVersion: number };

/** A value or a promise of it: a store may answer synchronously (memory) or not. */
export type Awaitable<T> = T | PromiseLike<T>;
