// The Redis store's change log of an owner: a stream under the owner's hash tag, appended to by
// the scripts that write its records (see LOG in scripts.ts), read here, page by page.
import { BackendError } from "../../errors.ts";
import { CHANGES as CHANGE_NAMES } from "../../types.ts";
import type {
  ChangeEntry,
  ChangeLogOptions,
  ChangePage,
  ChangesRequest,
  SessionRecord,
  StoreChange,
} from "../types.ts";
import type { OwnerSpace } from "./keys.ts";
import { CHANGES, evalScript, type ScriptClient } from "./scripts.ts";

/** The bounds of every owner's log, checked (`logBounds`). */
export interface LogBounds {
  readonly maxEntries: number;
  readonly maxAge: number;
}

/** Reads a record from its stored text; `undefined` when it cannot (reported by the caller). */
export type DecodeRecord = (text: string, id: string) => SessionRecord | undefined;

/** `options` with the defaults (1000 entries, 1 hour), or a `BackendError` for a bad bound. */
export function logBounds(options: ChangeLogOptions = {}): LogBounds {
  const { maxEntries = 1000, maxAge = 3_600_000 } = options;
  for (const [name, value] of [
    ["maxEntries", maxEntries],
    ["maxAge", maxAge],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new BackendError(
        `redis changeLog.${name} must be a whole number from 1, got ${JSON.stringify(value)}`,
      );
    }
  }
  return { maxEntries, maxAge };
}

/** The keys and the last four arguments the writing scripts take to log an owner's writes. */
export function logSettings(
  space: OwnerSpace,
  owner: string,
  bounds: LogBounds,
  channel: string,
): { keys: string[]; args: (string | number)[] } {
  return {
    keys: [space.log, space.meta],
    args: [bounds.maxEntries, bounds.maxAge, channel, owner],
  };
}

/** The largest sequence number of a stream id (an unsigned 64-bit integer). */
const MAX_SEQUENCE = "18446744073709551615";
const ID = /^(\d+)-(\d+)$/;
const CURSOR = /^(\d{15})-([a-t])(0|[1-9]\d*)$/;

/**
 * The cursor of a stream id `ms-seq`: the milliseconds padded to 15 digits, then the sequence
 * after a letter that says how many digits it has (`a` one … `t` twenty), so that cursors sort
 * as plain strings in the order of their ids: `001764888161000-a0`.
 */
export function cursorOf(id: string): string {
  const [, ms = "0", seq = "0"] = ID.exec(id) ?? [];
  return `${ms.padStart(15, "0")}-${String.fromCharCode(96 + seq.length)}${seq}`;
}

/** The stream id of a cursor `cursorOf` made, or `undefined` for anything else. */
export function idOfCursor(cursor: string): string | undefined {
  const [, ms, letter, seq] = CURSOR.exec(cursor) ?? [];
  if (ms === undefined || letter === undefined || seq === undefined) return undefined;
  if (letter.charCodeAt(0) - 96 !== seq.length) return undefined;
  if (seq.length === MAX_SEQUENCE.length && seq > MAX_SEQUENCE) return undefined;
  return `${Number(ms)}-${seq}`;
}

/**
 * An entry of the stream (`id`, fields `c` change, `i` session id, `r` record on writes), or
 * `undefined` when it is not one of ours or its record cannot be read.
 */
export function entryOf(
  id: string,
  change: unknown,
  sessionId: unknown,
  record: unknown,
  decode: DecodeRecord,
): ChangeEntry | undefined {
  if (typeof change !== "string" || !CHANGE_NAMES.includes(change)) return undefined;
  if (typeof sessionId !== "string") return undefined;
  const entry = {
    cursor: cursorOf(id),
    change: change as StoreChange,
    id: sessionId,
    at: Number(ID.exec(id)?.[1] ?? 0),
  };
  if (typeof record !== "string") return entry;
  const decoded = decode(record, sessionId);
  return decoded && { ...entry, record: decoded };
}

/**
 * The owner and the entry of a message on the channel (see LOG in scripts.ts), or `undefined`
 * when it is not one, or when `wanted` says nobody listens to its owner (nothing decoded then).
 */
export function messageOf(
  message: string,
  wanted: (owner: string) => boolean,
  decode: DecodeRecord,
): { owner: string; entry: ChangeEntry } | undefined {
  let parts: unknown;
  try {
    parts = JSON.parse(message);
  } catch {
    return undefined;
  }
  if (!Array.isArray(parts) || typeof parts[0] !== "string" || typeof parts[1] !== "string") {
    return undefined;
  }
  if (!wanted(parts[0])) return undefined;
  const entry = entryOf(parts[1], parts[2], parts[3], parts[4], decode);
  return entry && { owner: parts[0], entry };
}

/** What the CHANGES script answers (see scripts.ts). */
type Answer = [
  kind: "head" | "resync" | "entries",
  body: string | [string, string[]][],
  more?: 0 | 1,
];

/**
 * One page of the log of `space` after `request.cursor` (see `SessionPartition.changes`): a
 * cursor this store did not make answers `resync`, as one older than the log's oldest entry.
 */
export async function readChanges(
  redis: ScriptClient,
  space: OwnerSpace,
  request: ChangesRequest,
  bounds: LogBounds,
  decode: DecodeRecord,
): Promise<ChangePage> {
  const keys = [space.log, space.meta];
  const run = async (cursor: string) =>
    (await evalScript(redis, CHANGES, keys, [
      cursor,
      Math.max(1, Math.floor(request.limit)),
      bounds.maxAge,
    ])) as Answer;
  const id = request.cursor === undefined ? "" : idOfCursor(request.cursor);
  if (id === undefined) {
    const [, head] = await run("");
    return { entries: [], next: cursorOf(typeof head === "string" ? head : ""), resync: true };
  }
  const [kind, raw, more] = await run(id);
  if (typeof raw === "string") {
    const next = cursorOf(raw);
    return kind === "resync" ? { entries: [], next, resync: true } : { entries: [], next };
  }
  const entries: ChangeEntry[] = [];
  for (const [entryId, fields] of raw) {
    const field = (name: string) => {
      for (let i = 0; i < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
      return undefined;
    };
    const entry = entryOf(entryId, field("c"), field("i"), field("r"), decode);
    if (entry) entries.push(entry);
  }
  // The last id read, whether or not its entry could be: the next page starts after it.
  const next = cursorOf(raw[raw.length - 1]?.[0] ?? id);
  return more ? { entries, next, more: true } : { entries, next };
}
