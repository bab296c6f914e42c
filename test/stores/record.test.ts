// The stored record format (web storage, files, Redis, Memcached, IndexedDB, other tabs): the
// optional maxAge, written only when a session has one and checked when it is read.
import { describe, expect, it } from "vitest";
import { BackendError } from "../../src/errors.ts";
import { decodeRecord, encodeRecord, readRecord, toStoredObject } from "../../src/stores/record.ts";
import { rec } from "../helpers/records.ts";

describe("record format 1 and maxAge", () => {
  it("writes maxAge only when the record has one, and reads it back", () => {
    const capped = rec("a", { maxAge: 60_000 });
    expect(JSON.parse(encodeRecord(capped))).toMatchObject({ v: 1, maxAge: 60_000 });
    expect(decodeRecord(encodeRecord(capped), "here")).toEqual(capped);
    const plain = rec("b");
    expect("maxAge" in toStoredObject(plain)).toBe(false);
    expect("maxAge" in decodeRecord(encodeRecord(plain), "here")).toBe(false);
  });

  it("reads a record written before maxAge as uncapped", () => {
    const { maxAge: _, ...old } = toStoredObject(rec("old"));
    expect(readRecord(old, "here")).not.toHaveProperty("maxAge");
  });

  it.each([0, -1, "60000", null, Number.NaN, Number.POSITIVE_INFINITY])(
    "refuses a record whose maxAge is %s, with BackendError",
    (maxAge) => {
      const stored = { ...toStoredObject(rec("x")), maxAge };
      expect(() => readRecord(stored, "at x")).toThrow(BackendError);
      expect(() => readRecord(stored, "at x")).toThrow(
        /skipped the stored record at x: its maxAge is .+, not a positive number/,
      );
    },
  );
});
