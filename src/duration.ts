import { MAX_DATE_MS } from "./constants.ts";
import { InvalidTtlError } from "./errors.ts";

/** A unit a duration string may end with. */
export type DurationUnit = "ms" | "s" | "m" | "h" | "d";

/**
 * Milliseconds as a number, or a string such as `"500ms"`, `"30s"`, `"15m"`, `"2h"`, `"7d"`
 * (a decimal is fine: `"1.5h"`).
 */
export type Duration = number | `${number}${DurationUnit}`;

const unitMs: Record<DurationUnit, number> = { ms: 1, s: 1e3, m: 6e4, h: 36e5, d: 864e5 };

const pattern = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*(ms|s|m|h|d)\s*$/;

/**
 * Parses a `Duration` into whole milliseconds.
 * Throws `InvalidTtlError` for zero, negative, NaN, Infinity, or an unparsable string
 * (`allowZero` accepts 0, for options such as `warnBefore`).
 * @example
 * parseDuration("15m") // 900000
 */
export function parseDuration(value: unknown, name = "ttl", allowZero = false): number {
  let ms = Number.NaN;
  if (typeof value === "number") ms = Math.round(value);
  else if (typeof value === "string") {
    const match = pattern.exec(value);
    if (match) ms = Math.round(Number(match[1]) * unitMs[match[2] as DurationUnit]);
  }
  if (ms > 0 || (allowZero && ms === 0 && !Object.is(value, -0))) {
    if (ms <= MAX_DATE_MS) return ms;
  }
  const given = typeof value === "string" ? JSON.stringify(value) : String(value);
  const what = allowZero ? "a duration of zero or more" : "a positive duration";
  throw new InvalidTtlError(`${name} must be ${what}, got ${given}`);
}
