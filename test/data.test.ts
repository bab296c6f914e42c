import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { toJsonData } from "../src/data.ts";
import { InvalidDataError } from "../src/index.ts";

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
