import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { InvalidTtlError, parseDuration } from "../src/index.ts";

describe("parseDuration", () => {
  it.each([
    [1500, 1500],
    ["500ms", 500],
    ["30s", 30_000],
    ["15m", 900_000],
    ["2h", 7_200_000],
    ["7d", 604_800_000],
    ["1.5h", 5_400_000],
    [" 10 s ", 10_000],
    [".5s", 500],
  ])("%j is %d ms", (input, ms) => {
    expect(parseDuration(input)).toBe(ms);
  });

  it.each([
    0,
    -10,
    -0,
    0.4,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    1e20,
    "",
    "abc",
    "10",
    "10x",
    "-5m",
    "1e3s",
    "5 minutes",
    "m",
    null,
    undefined,
    {},
    [],
    true,
  ])("refuses %j", (input) => {
    expect(() => parseDuration(input)).toThrow(InvalidTtlError);
  });

  it("names the option and shows what was given", () => {
    expect(() => parseDuration(-10)).toThrow("ttl must be a positive duration, got -10");
    expect(() => parseDuration("soon", "defaultTtl")).toThrow(
      'defaultTtl must be a positive duration, got "soon"',
    );
    expect(() => parseDuration(-1, "warnBefore", true)).toThrow(
      "warnBefore must be a duration of zero or more, got -1",
    );
  });

  it("accepts zero only where allowed", () => {
    expect(parseDuration(0, "warnBefore", true)).toBe(0);
    expect(parseDuration("0s", "warnBefore", true)).toBe(0);
    expect(() => parseDuration("0s")).toThrow(InvalidTtlError);
  });

  it("reads any whole number of any unit", () => {
    const units = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000 }),
        fc.constantFrom(...(Object.keys(units) as (keyof typeof units)[])),
        (n, unit) => {
          expect(parseDuration(`${n}${unit}`)).toBe(n * units[unit]);
        },
      ),
    );
  });
});
