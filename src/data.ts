import { MAX_DATA_DEPTH } from "./constants.ts";
import { BackendError, InvalidDataError } from "./errors.ts";

/**
 * Returns a frozen deep copy of `value` as JSON would store it, or throws `InvalidDataError`
 * for what JSON cannot hold (cycles, BigInt) or would silently lose (functions, symbols, and
 * the contents of Map, Set and promises). JSON's own conversions apply: `toJSON()` is called
 * (a Date becomes its ISO string), `undefined` properties are left out, `undefined` in arrays
 * and non-finite numbers become `null`. Absent data (`undefined`) is `null`. Data nested deeper
 * than `MAX_DATA_DEPTH` (64) objects and arrays is refused before the walk could overflow the stack.
 */
export function toJsonData(value: unknown): unknown {
  // Every add and update passes here: one walk that copies as it checks, keeping one stack of
  // the keys above it and building the path string only for an error message. (A copy through
  // JSON.stringify with a checking replacer and a freezing reviver is smaller, but 10x slower.)
  return value === undefined ? null : copy(value, "", [], []);
}

/**
 * `ancestors`: the objects above (for cycles and depth); `keys`: the path to `value` (for
 * messages); `converted`: `value` came from a `toJSON()`, whose result JSON does not convert again.
 */
function copy(
  value: unknown,
  key: string,
  ancestors: object[],
  keys: (string | number)[],
  converted?: boolean,
): unknown {
  switch (typeof value) {
    case "string":
    case "boolean":
      return value;
    case "number":
      // As JSON: -0 is written as 0, NaN and the infinities as null.
      return Number.isFinite(value) ? value + 0 : null;
    case "object":
      if (value === null) return null;
      break;
    default:
      // bigint, function, symbol (undefined is handled by the callers)
      throw refuse(`a ${typeof value}`, keys);
  }
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === "function" && !converted) {
    const json: unknown = toJSON.call(value, key);
    return json === undefined ? null : copy(json, key, ancestors, keys, true);
  }
  // Boxed primitives are their values to JSON (`new Number(3)` is 3).
  if (value instanceof Number || value instanceof String || value instanceof Boolean) {
    return copy(value.valueOf(), key, ancestors, keys);
  }
  if (
    value instanceof Map ||
    value instanceof Set ||
    typeof (value as PromiseLike<unknown>).then === "function"
  ) {
    throw refuse(`a ${value.constructor.name}`, keys);
  }
  if (ancestors.includes(value)) throw refuse("a circular reference", keys);
  if (ancestors.length >= MAX_DATA_DEPTH) {
    throw refuse(`more than ${MAX_DATA_DEPTH} levels of nesting`, keys);
  }
  ancestors.push(value);
  let out: unknown[] | Record<string, unknown>;
  if (Array.isArray(value)) {
    // Array.from visits holes too, which JSON writes as null.
    out = Array.from(value, (item: unknown, i) => {
      keys.push(i);
      const copied = item === undefined ? null : copy(item, String(i), ancestors, keys);
      keys.pop();
      return copied;
    });
  } else {
    out = {};
    for (const name of Object.keys(value)) {
      const item = (value as Record<string, unknown>)[name];
      if (item === undefined) continue;
      keys.push(name);
      const copied = copy(item, name, ancestors, keys);
      keys.pop();
      // Assigning "__proto__" would set the prototype; JSON.parse keeps it as a plain key.
      if (name === "__proto__") {
        Object.defineProperty(out, name, { value: copied, enumerable: true, writable: true });
      } else out[name] = copied;
    }
  }
  ancestors.pop();
  return Object.freeze(out);
}

function refuse(what: string, keys: (string | number)[]): InvalidDataError {
  const path = keys.map((k) => (typeof k === "number" ? `[${k}]` : `.${k}`)).join("");
  return new InvalidDataError(`data must be JSON-serialisable, got ${what} at data${path}`);
}

/**
 * Freezes `value` and everything in it, as the manager's own data is. Stored data that nests
 * deeper than `MAX_DATA_DEPTH` (which this SDK never writes) is `BackendError`, not a stack
 * overflow: the record is unreadable. `depth`: how many objects are above `value`.
 */
export function deepFreeze(value: unknown, depth = 0): unknown {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    if (depth >= MAX_DATA_DEPTH) {
      throw new BackendError(`data nests deeper than ${MAX_DATA_DEPTH} levels`);
    }
    for (const item of Object.values(value)) deepFreeze(item, depth + 1);
    Object.freeze(value);
  }
  return value;
}
