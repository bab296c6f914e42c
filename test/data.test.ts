import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MAX_DATA_DEPTH } from "../src/constants.ts";
import { deepFreeze, toJsonData } from "../src/data.ts";
import { BackendError, InvalidDataError } from "../src/index.ts";
import { decodeRecord, RECORD_FORMAT, readRecord } from "../src/stores/record.ts";

/** `levels` arrays in one another, `[[…[leaf]…]]`, built without recursion. */
function nested(levels: number, leaf: unknown = 1): unknown {
  let value = leaf;
  for (let i = 0; i < levels; i++) value = [value];
  return value;
}

describe("session data", () => {
  it("equals what a JSON round trip gives, for any JSON value", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(toJsonData(value)).toEqual(JSON.parse(JSON.stringify(value)));
      }),
    );
  });

  it("applies JSON's documented conversions", () => {
    const date = new Date(Date.UTC(2026, 0, 2));
    expect(
      toJsonData({
        at: date,
        gone: undefined,
        list: [undefined, Number.NaN, Number.POSITIVE_INFINITY],
        when: { toJSON: () => "custom" },
      }),
    ).toEqual({
      at: "2026-01-02T00:00:00.000Z",
      list: [null, null, null],
      when: "custom",
    });
    // biome-ignore lint/suspicious/noSparseArray: a hole is what this checks
    expect(toJsonData([1, , 3])).toEqual([1, null, 3]);
    expect(toJsonData(undefined)).toBeNull();
    expect(Object.is(toJsonData(-0), 0)).toBe(true);
  });

  it("stores boxed primitives as JSON does: as their values", () => {
    const boxed = {
      n: new Number(3),
      s: new String("x"),
      b: new Boolean(false),
      a: [new Number(-0)],
    };
    expect(toJsonData(boxed)).toEqual(JSON.parse(JSON.stringify(boxed)));
    expect(toJsonData(boxed)).toEqual({ n: 3, s: "x", b: false, a: [0] });
  });

  it("keeps a __proto__ key as data, as JSON.parse does", () => {
    const copied = toJsonData(JSON.parse('{"__proto__": {"polluted": true}}')) as Record<
      string,
      unknown
    >;
    expect(Object.getPrototypeOf(copied)).toBe(Object.prototype);
    expect(Object.keys(copied)).toEqual(["__proto__"]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("shares no object with the input and freezes the copy", () => {
    const input = { a: { b: [1, { c: 2 }] } };
    const copied = toJsonData(input) as typeof input;
    expect(copied).not.toBe(input);
    expect(copied.a.b).not.toBe(input.a.b);
    expect(Object.isFrozen(copied.a.b[1])).toBe(true);
  });

  it("accepts the same object twice when it is not a cycle", () => {
    const shared = { x: 1 };
    expect(toJsonData({ a: shared, b: shared })).toEqual({ a: { x: 1 }, b: { x: 1 } });
  });

  it.each([
    [{ f: () => 1 }, "a function at data.f"],
    [{ list: [1, Symbol("s")] }, "a symbol at data.list[1]"],
    [{ n: 1n }, "a bigint at data.n"],
    [{ m: new Map() }, "a Map at data.m"],
    [{ s: new Set() }, "a Set at data.s"],
    [{ p: Promise.resolve() }, "a Promise at data.p"],
  ])("refuses %o: %s", (value, what) => {
    expect(() => toJsonData(value)).toThrow(
      new InvalidDataError(`data must be JSON-serialisable, got ${what}`),
    );
  });

  it("refuses a cycle and says where", () => {
    const node: Record<string, unknown> = { child: {} };
    (node.child as Record<string, unknown>).parent = node;
    expect(() => toJsonData(node)).toThrow("got a circular reference at data.child.parent");
  });
});

describe("session data depth (issue 11, finding 4)", () => {
  it(`takes data ${MAX_DATA_DEPTH} levels deep, objects and arrays alike`, () => {
    expect(MAX_DATA_DEPTH).toBe(64);
    expect(toJsonData(nested(MAX_DATA_DEPTH))).toEqual(nested(MAX_DATA_DEPTH));
    let object: unknown = "leaf";
    for (let i = 0; i < MAX_DATA_DEPTH; i++) object = { a: object };
    expect(toJsonData(object)).toEqual(object);
  });

  it.each([MAX_DATA_DEPTH + 1, 1_900, 100_000])(
    "refuses data %i levels deep with InvalidDataError, not a stack overflow",
    (levels) => {
      const deep = { list: nested(levels - 1) };
      let thrown: unknown;
      try {
        toJsonData(deep);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(InvalidDataError);
      expect((thrown as Error).message).toMatch(
        /^data must be JSON-serialisable, got more than 64 levels of nesting at data\.list(\[0\]){63}$/,
      );
    },
  );

  it("calls toJSON once per value, as JSON does, so a toJSON that returns itself ends", () => {
    // JSON.stringify would write it as { a: 1 }; the SDK refuses it for its function, as any.
    const self = {
      a: 1,
      toJSON() {
        return this;
      },
    };
    expect(() => toJsonData(self)).toThrow("got a function at data.toJSON");
    // A toJSON that returns ever deeper objects ends at the depth limit.
    const growing = { toJSON: (): unknown => ({ next: growing }) };
    expect(() => toJsonData(growing)).toThrow(InvalidDataError);
  });

  it("reads stored data nested deeper than the SDK writes as unreadable (BackendError)", () => {
    const record = (data: string) =>
      `{"v":${RECORD_FORMAT},"id":"a","data":${data},"createdAt":1,"updatedAt":1,"expiresAt":2,"ttl":1,"version":1}`;
    const ok = decodeRecord(record(JSON.stringify(nested(MAX_DATA_DEPTH))), "here");
    expect(ok.data).toEqual(nested(MAX_DATA_DEPTH));
    expect(Object.isFrozen(ok) && Object.isFrozen((ok.data as unknown[])[0])).toBe(true);
    for (const levels of [MAX_DATA_DEPTH + 1, 10_000, 100_000]) {
      const text = record(`${"[".repeat(levels)}${"]".repeat(levels)}`);
      expect(() => decodeRecord(text, "here")).toThrow(BackendError);
      expect(() => decodeRecord(text, "here")).toThrow(
        `skipped the stored record here: its data nests deeper than ${MAX_DATA_DEPTH} levels`,
      );
      expect(() => readRecord(JSON.parse(text), "there")).toThrow(
        `skipped the stored record there: its data nests deeper than ${MAX_DATA_DEPTH} levels`,
      );
    }
    expect(Object.isFrozen(deepFreeze(nested(MAX_DATA_DEPTH)))).toBe(true);
    expect(() => deepFreeze(nested(MAX_DATA_DEPTH + 1))).toThrow(
      new BackendError(`data nests deeper than ${MAX_DATA_DEPTH} levels`),
    );
    expect(() => deepFreeze(nested(100_000))).toThrow(BackendError);
  });
});
