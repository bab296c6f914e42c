// Types that the rest of the code shares and that depend on nothing.

/** A session as the manager returns it: frozen, times in epoch ms, `ttl` in ms. */
export interface Session<Data = unknown> {
  readonly id: string;
  readonly data: Data;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly expiresAt: number;
  readonly ttl: number;
  /** 1 when added; grows by one on every change (touch, update). */
  readonly version: number;
}

/** A change to a session that other tabs and other clients hear about. */
export type Change = "added" | "updated" | "touched" | "removed" | "expired";

/** Every `Change`, for checking messages from elsewhere. */
export const CHANGES: readonly string[] = ["added", "updated", "touched", "removed", "expired"];
