import { InvalidDataError } from "./errors.ts";

/**
 * Returns a frozen deep copy of `value` as JSON would store it, or throws `InvalidDataError`
 * for what JSON cannot hold (cycles, BigInt) or would silently lose (functions, symbols, and
 * the contents of Map, Set and promises). JSON's own conversions apply: `toJSON()` is called
 * (a Date becomes its ISO string), `undefined` properties are left out, `undefined` in arrays
 * and non-finite numbers become `null`. Absent data (`undefined`) is `null`.
 */
export function toJsonData(value: unknown): unknown {
  return value === undefined ? null : copy(value, "data", "", new Set());
}

function copy(value: unknown, path: string, key: string, ancestors: Set<object>): unknown {
  switch (typeof value) {
    case "string":
    case "boolean":
      return value;
    case "number":
      return Number.isFinite(value) ? value : null;
    case "object":
      if (value === null) return null;
      break;
    default:
      // bigint, function, symbol (undefined is handled by the callers)
      throw refuse(`a ${typeof value}`, path);
  }
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === "function") {
    const converted: unknown = toJSON.call(value, key);
    return converted === undefined ? null : copy(converted, path, key, ancestors);
  }
  if (
    value instanceof Map ||
    value instanceof Set ||
    typeof (value as PromiseLike<unknown>).then === "function"
  ) {
    throw refuse(`a ${value.constructor.name}`, path);
  }
  if (ancestors.has(value)) throw refuse("a circular reference", path);
  ancestors.add(value);
  let out: unknown[] | Record<string, unknown>;
  if (Array.isArray(value)) {
    // Array.from visits holes too, which JSON writes as null.
    out = Array.from(value, (item: unknown, i) =>
      item === undefined ? null : copy(item, `${path}[${i}]`, String(i), ancestors),
    );
  } else {
    out = {};
    for (const name of Object.keys(value)) {
      const item = (value as Record<string, unknown>)[name];
      if (item === undefined) continue;
      const copied = copy(item, `${path}.${name}`, name, ancestors);
      // Assigning "__proto__" would set the prototype; JSON.parse keeps it as a plain key.
      if (name === "__proto__") {
        Object.defineProperty(out, name, { value: copied, enumerable: true, writable: true });
      } else out[name] = copied;
    }
  }
  ancestors.delete(value);
  return Object.freeze(out);
}

function refuse(what: string, path: string): InvalidDataError {
  return new InvalidDataError(`data must be JSON-serialisable, got ${what} at ${path}`);
}
