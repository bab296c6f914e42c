// The file store's pages (firstPage) are the shared rule's pages (pageOf), without the sort.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { firstPage } from "../../src/stores/file/page.ts";
import { pageOf } from "../../src/stores/shared/range.ts";
import { rec } from "../helpers/records.ts";

describe("file store pages", () => {
  it("are the pages pageOf answers, for any records, prefix, cursor and limit", () => {
    const text = fc.string({
      unit: fc.constantFrom("a", "b", "/", "é", "\u{1F600}"),
      maxLength: 4,
    });
    fc.assert(
      fc.property(
        fc.uniqueArray(text, { maxLength: 40 }),
        text,
        fc.option(text, { nil: undefined }),
        fc.integer({ min: 1, max: 12 }),
        (ids, prefix, cursor, limit) => {
          const records = ids.map((id) => rec(id));
          const request = { prefix, cursor, limit };
          expect(firstPage(records, request)).toEqual(pageOf(records, request));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("pages through every record once, in id order", () => {
    const records = Array.from({ length: 1000 }, (_, i) => rec(`s${(i * 7919) % 1000}`));
    const seen: string[] = [];
    for (let cursor: string | undefined, done = false; !done; ) {
      const page = firstPage(records, { cursor, limit: 64 });
      seen.push(...page.records.map((r) => r.id));
      cursor = page.next;
      done = cursor === undefined;
    }
    expect(seen).toEqual(records.map((r) => r.id).sort());
  });
});
