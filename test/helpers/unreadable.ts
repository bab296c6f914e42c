import { expect } from "vitest";
import type { SessionStore } from "../../src/stores/types.ts";
import { rec } from "./records.ts";

/**
 * `store` holds a record "future" of a format newer than it reads (written behind its back): it
 * reads as absent with a report each time it is read (`reported` collects them), and no
 * conditional write, delete, purge or clear of the store changes it. The caller checks last that
 * the stored value is still there as it was. Leaves `reported` empty.
 */
export async function expectFutureRecordKept(
  store: SessionStore,
  reported: Error[],
): Promise<void> {
  reported.length = 0;
  expect(await store.get("future")).toBeUndefined();
  expect(await store.list()).toEqual([]);
  expect(reported.map((e) => e.message)).toEqual([
    expect.stringMatching(/its format is 99/),
    expect.stringMatching(/its format is 99/),
  ]);
  expect(await store.set(rec("future", { version: 2 }), { ifVersion: 1 })).toBe(false);
  expect(await store.delete("future", { ifVersion: 1 })).toBe(false);
  expect(await store.set(rec("future"), { ifAbsent: true })).toBe(false);
  expect(await store.purgeExpired(Date.now())).toEqual([]);
  await store.clear();
  reported.length = 0;
}
