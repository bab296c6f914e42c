import { InvalidDataError } from "./errors.ts";

/**
 * Returns a frozen deep copy of `value` as JSON would store it, or throws `InvalidDataError`
 * for what JSON cannot hold (cycles, BigInt) or would silently lose (functions, symbols, and
 * the contents of Map, Set and promises). JSON's own conversions apply: `toJSON()` is called
 * (a Date becomes its ISO string), `undefined` properties are left out, `undefined` in arrays
 * and non-finite numbers become `null`. Absent data (`undefined`) is `null`.
 */
export function toJsonData(value: unknown): unknown {
  // JSON itself makes the copy; the replacer sees every value first and refuses what JSON would
  // drop or choke on. Each object's holder and key are kept for the cycle check and the message.
  const parents = new Map<unknown, [holder: object, key: string]>();
  function check(this: object, key: string, item: unknown): unknown {
    const refuse = (what: string): InvalidDataError => {
      let path = "";
      for (let [holder, k]: [object, string] | [] = [this, key]; holder && parents.has(holder); ) {
        path = (Array.isArray(holder) ? `[${k}]` : `.${k}`) + path;
        [holder, k] = parents.get(holder) as [object, string];
      }
      return new InvalidDataError(`data must be JSON-serialisable, got ${what} at data${path}`);
    };
    if (typeof item === "object" && item !== null) {
      if (
        item instanceof Map ||
        item instanceof Set ||
        typeof (item as PromiseLike<unknown>).then === "function"
      ) {
        throw refuse(`a ${item.constructor.name}`);
      }
      for (let up: unknown = this; up; up = parents.get(up)?.[0]) {
        if (up === item) throw refuse("a circular reference");
      }
      parents.set(item, [this, key]);
    } else if (typeof item === "bigint" || typeof item === "function" || typeof item === "symbol") {
      throw refuse(`a ${typeof item}`);
    }
    // A toJSON() that gave `undefined` for a defined value: null, as for absent data.
    return item === undefined && (this as Record<string, unknown>)[key] !== undefined ? null : item;
  }
  return value === undefined ? null : parseFrozen(JSON.stringify(value, check));
}

/** `JSON.parse`, with every object and array in the result frozen. */
export function parseFrozen(text: string): unknown {
  // The reviver runs bottom-up over every value: freezing there freezes the data deeply.
  return JSON.parse(text, (_key, value: unknown) =>
    typeof value === "object" && value !== null ? Object.freeze(value) : value,
  );
}
