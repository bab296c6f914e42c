import type { SessionRecord } from "../../src/stores/types.ts";

/** A live record made now (a minute to go, version 1, data `{ n: 1 }`), with `patch` over it. */
export function rec(id: string, patch: Partial<SessionRecord> = {}): SessionRecord {
  const now = Date.now();
  return {
    id,
    data: { n: 1 },
    createdAt: now,
    updatedAt: now,
    expiresAt: now + 60_000,
    ttl: 60_000,
    version: 1,
    ...patch,
  };
}
