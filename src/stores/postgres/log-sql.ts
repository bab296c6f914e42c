// The PostgreSQL store's change log: its tables, the statements that write a record and append
// to the log in one statement, the reads, and the cursors.
import { createHash } from "node:crypto";
import { COLUMNS } from "./sql.ts";

/** The names (quoted) of the log's tables and its NOTIFY channel, derived from the table. */
export interface LogNames {
  /** The entries: `<table>_changes`. */
  readonly changes: string;
  /** Per owner, the newest position dropped from the log; the row of owner "/", the epoch. */
  readonly floors: string;
  /** The index of entries by age. */
  readonly byAge: string;
  /** The index of floors by the time they were last raised. */
  readonly floorsByAge: string;
  /** The NOTIFY channel of the table and namespace: `sm_` and 32 hex digits. */
  readonly channel: string;
}

/** Where a position in the log is as a digit string: zero-padded, so strings sort as numbers. */
const SEQ_DIGITS = 19;
/** A cursor: the epoch of the namespace's log (8 letters or digits), a dot, the position. */
const CURSOR = /^([0-9a-z]{8})\.(\d{19})$/;
/** The owner no owner is: an encoded owner has no "/". Its floor row holds the epoch. */
export const NAMESPACE_ROW = "/";
/** The time of the database in epoch ms, read per row (`now()` is the transaction's start). */
const NOW_MS = "(extract(epoch FROM clock_timestamp()) * 1000)::float8";

/** Hex MD5 of `text`: channel names, and the owner keys of NOTIFY payloads (as SQL's `md5`). */
export function md5(text: string): string {
  return createHash("md5").update(text).digest("hex");
}

/** The log's names for the table `name` (`name` or `schema.name`, already checked) and namespace. */
export function logNames(name: string, namespace: string): LogNames {
  const parts = name.split(".");
  const base = parts.pop() as string;
  const schema = parts.length > 0 ? `"${parts[0]}".` : "";
  return {
    changes: `${schema}"${derived(base, "_changes")}"`,
    floors: `${schema}"${derived(base, "_changes_floor")}"`,
    byAge: `"${derived(base, "_changes_at")}"`,
    floorsByAge: `"${derived(base, "_changes_floor_at")}"`,
    channel: `sm_${md5(`${name}\n${namespace}`)}`,
  };
}

/** `base + suffix`, within PostgreSQL's 63 bytes (a hash of `base` in it when too long). */
function derived(base: string, suffix: string): string {
  if (base.length + suffix.length <= 63) return base + suffix;
  return `${base.slice(0, 63 - suffix.length - 9)}_${md5(base).slice(0, 8)}${suffix}`;
}

/** The log's tables and index, for `createTableSql`'s lock (so concurrent opens do not race). */
export function logTablesSql(names: LogNames): string {
  const { changes, floors, byAge, floorsByAge } = names;
  return `
CREATE TABLE IF NOT EXISTS ${changes} (
  namespace text NOT NULL,
  owner text COLLATE "C" NOT NULL,
  seq bigint GENERATED ALWAYS AS IDENTITY,
  id text NOT NULL,
  change text NOT NULL,
  record text,
  at double precision NOT NULL,
  PRIMARY KEY (namespace, owner, seq)
);
CREATE INDEX IF NOT EXISTS ${byAge} ON ${changes} (namespace, at);
CREATE TABLE IF NOT EXISTS ${floors} (
  namespace text NOT NULL,
  owner text COLLATE "C" NOT NULL,
  floor bigint NOT NULL DEFAULT 0,
  at double precision NOT NULL DEFAULT 0,
  epoch text,
  PRIMARY KEY (namespace, owner)
);
CREATE INDEX IF NOT EXISTS ${floorsByAge} ON ${floors} (namespace, at);`;
}

/** The cursor of position `seq` (a digit string) in the log of `epoch`. */
export function cursorOf(epoch: string, seq: string): string {
  return `${epoch}.${seq.padStart(SEQ_DIGITS, "0")}`;
}

/** The position in `cursor` (digits), or `undefined` for a cursor of no log of `epoch`. */
export function positionOf(epoch: string, cursor: string): string | undefined {
  const match = CURSOR.exec(cursor);
  return match && match[1] === epoch ? (match[2] as string) : undefined;
}

/** Whether position `seq` (digits, as NOTIFY sends it) comes after `cursor`. */
export function isAfter(seq: string, cursor: string): boolean {
  return seq.padStart(SEQ_DIGITS, "0") > cursor.slice(-SEQ_DIGITS);
}

/** Aged entries an append drops from the front of its owner's log (the sweep drops the rest). */
const AGED_PER_APPEND = 16;

/**
 * A write (`w`, returning the prefixed `id`; `locked` the lock CTE to read from) and its entry
 * in one statement: the owner's advisory lock first, so that one owner's entries commit in the
 * order of their positions (a reader never passes one still to commit), then the write, the
 * entry from what it returned (none when its condition failed) and the NOTIFY, delivered at
 * commit; last, the owner's oldest entries past `maxAge` ms dropped and its floor raised (an
 * owner's entries are in time order: the front of its log is its oldest). `o`, `k` and `r` are
 * the placeholders of the encoded owner, the change and the record.
 */
function logged(
  names: LogNames,
  maxAge: number,
  o: string,
  k: string,
  r: string,
  write: string,
): string {
  const { changes, floors, channel } = names;
  return `WITH locked AS MATERIALIZED (SELECT pg_advisory_xact_lock(hashtextextended($1::text || '/' || ${o}::text, 0)) AS held),
w AS (${write}),
c AS (INSERT INTO ${changes} (namespace, owner, id, change, record, at)
  SELECT $1, ${o}, substr(w.id, length(${o}) + 2), ${k}, ${r}, ${NOW_MS} FROM w RETURNING seq),
aged AS (DELETE FROM ${changes} WHERE namespace = $1 AND owner = ${o} AND EXISTS (SELECT 1 FROM locked)
  AND seq IN (SELECT seq FROM ${changes} WHERE namespace = $1 AND owner = ${o} ORDER BY seq LIMIT ${AGED_PER_APPEND})
  AND at < ${NOW_MS} - ${maxAge} RETURNING seq),
floored AS (${raise(floors, o, "aged")})
SELECT seq::text AS seq, pg_notify('${channel}', md5(${o}) || ' ' || seq) FROM c`;
}

/** Raises the floor of owner `o` to the newest position of `dropped` (a CTE of `seq`s), if any. */
function raise(floors: string, o: string, dropped: string): string {
  return `INSERT INTO ${floors} (namespace, owner, floor, at) SELECT $1, ${o}, max(seq), ${NOW_MS} FROM ${dropped} HAVING count(*) > 0
ON CONFLICT (namespace, owner) DO UPDATE SET floor = greatest(${floors}.floor, excluded.floor), at = excluded.at`;
}

/** The columns a write sets (`$3`…`$11`): all but the namespace and the id. */
const WRITTEN = COLUMNS.split(", ").slice(1);

/** The statements of the log, by name. */
export type LogStatements = Record<
  | "insert"
  | "upsert"
  | "update"
  | "delete"
  | "deleteVersion"
  | "clear"
  | "purge"
  | "head"
  | "page"
  | "prune"
  | "age"
  | "forget"
  | "epoch"
  | "readEpoch"
  | "clearAll",
  string
>;

/**
 * The statements of the log of `table` (quoted). Writes take the row's values `$1`…`$11` (as
 * `toRow` makes them), then the encoded owner `$12`, the change `$13` (NULL: the default), the
 * record as JSON `$14` and, for `update`, the version it replaces `$15`; deletes `$1` namespace,
 * `$2` id, `$3` owner, `$4` change (and `$5` version, `$6` format). `maxAge` (ms, a checked
 * whole number) is written into the statements.
 */
export function logStatements(table: string, names: LogNames, maxAge: number): LogStatements {
  const { changes, floors, channel } = names;
  const values =
    "$1::text, $2::text, $3::smallint, $4::text, $5::boolean, $6::float8, $7::float8, $8::float8, $9::float8, $10::bigint, $11::float8";
  const insert = `INSERT INTO ${table} (namespace, ${COLUMNS}) SELECT ${values} FROM locked`;
  const assign = WRITTEN.map((column, i) => `${column} = $${i + 3}`).join(", ");
  const excluded = WRITTEN.map((column) => `${column} = excluded.${column}`).join(", ");
  const remove = (condition: string) =>
    logged(
      names,
      maxAge,
      "$3",
      "coalesce($4::text, 'removed')",
      "NULL",
      `DELETE FROM ${table} USING locked WHERE namespace = $1 AND id = $2${condition} RETURNING id`,
    );
  const floor = (owner: string) =>
    `(SELECT coalesce(max(floor), 0) FROM ${floors} WHERE namespace = $1 AND owner IN (${owner}, '${NAMESPACE_ROW}'))`;
  const newest = (owner: string) =>
    `(SELECT max(seq) FROM ${changes} WHERE namespace = $1 AND owner = ${owner})`;
  return {
    insert: logged(
      names,
      maxAge,
      "$12",
      "coalesce($13::text, 'added')",
      "$14",
      `${insert} ON CONFLICT (namespace, id) DO NOTHING RETURNING id`,
    ),
    // A create or a replace: `xmax = 0` on the row returned only when it was inserted.
    upsert: logged(
      names,
      maxAge,
      "$12",
      "coalesce($13::text, CASE WHEN w.created THEN 'added' ELSE 'updated' END)",
      "$14",
      `${insert} ON CONFLICT (namespace, id) DO UPDATE SET ${excluded} RETURNING id, (xmax = 0) AS created`,
    ),
    update: logged(
      names,
      maxAge,
      "$12",
      "coalesce($13::text, 'updated')",
      "$14",
      `UPDATE ${table} SET ${assign} FROM locked WHERE namespace = $1 AND id = $2 AND version = $15 AND format = $3 RETURNING id`,
    ),
    delete: remove(""),
    deleteVersion: remove(" AND version = $5 AND format = $6"),
    // Every record of the owner (`$2` ≤ id < `$3`, of format `$4`; `$5` the owner), a removal
    // each, one NOTIFY with the newest position.
    clear: `WITH locked AS MATERIALIZED (SELECT pg_advisory_xact_lock(hashtextextended($1::text || '/' || $5::text, 0)) AS held),
w AS (DELETE FROM ${table} USING locked WHERE namespace = $1 AND id >= $2 AND id < $3 AND format = $4 RETURNING ${COLUMNS}),
c AS (INSERT INTO ${changes} (namespace, owner, id, change, record, at)
  SELECT $1, $5, substr(w.id, length($5) + 2), 'removed', NULL, ${NOW_MS} FROM w ORDER BY w.id RETURNING seq),
n AS (SELECT pg_notify('${channel}', md5($5) || ' ' || max(seq)) FROM c HAVING count(*) > 0)
SELECT ${COLUMNS} FROM w WHERE (SELECT count(*) FROM n) >= 0`,
    // The sweep of up to `$4` owners' expired records (`expires_at <= $2`, format `$3`): the
    // owners locked first, in order (two sweeps never wait on each other in a cycle), then
    // their records deleted, an `expired` entry each, a NOTIFY per owner. `owners`: how many
    // owners the batch took (as many as `$4`: sweep again).
    purge: `WITH o AS MATERIALIZED (SELECT DISTINCT split_part(id, '/', 1) AS owner FROM ${table}
  WHERE namespace = $1 AND expires_at <= $2 AND format = $3 AND strpos(id, '/') > 0 ORDER BY 1 LIMIT $4),
l AS MATERIALIZED (SELECT owner, pg_advisory_xact_lock(hashtextextended($1::text || '/' || owner, 0)) AS held FROM o ORDER BY owner),
w AS (DELETE FROM ${table} WHERE namespace = $1 AND expires_at <= $2 AND format = $3 AND strpos(id, '/') > 0
  AND split_part(id, '/', 1) IN (SELECT owner FROM l) RETURNING ${COLUMNS}),
c AS (INSERT INTO ${changes} (namespace, owner, id, change, record, at)
  SELECT $1, split_part(w.id, '/', 1), substr(w.id, strpos(w.id, '/') + 1), 'expired', NULL, ${NOW_MS}
  FROM w ORDER BY w.id RETURNING owner, seq),
n AS (SELECT pg_notify('${channel}', md5(owner) || ' ' || max(seq)) FROM c GROUP BY owner)
SELECT ${COLUMNS}, (SELECT count(*) FROM o) AS owners FROM w WHERE (SELECT count(*) FROM n) >= 0`,
    // The owner's head: its newest entry, or the newest position dropped.
    head: `SELECT greatest(${floor("$2")}, ${newest("$2")})::text AS head`,
    // The entries after `$3` (at most `$4`), with the floor, the head and the database's time.
    page: `WITH f AS (SELECT ${floor("$2")} AS floor)
SELECT f.floor::text AS floor, greatest(f.floor, ${newest("$2")})::text AS head,
  e.seq::text AS seq, e.id, e.change, e.record, e.at
FROM f LEFT JOIN LATERAL (SELECT seq, id, change, record, at FROM ${changes}
  WHERE namespace = $1 AND owner = $2 AND seq > $3::bigint ORDER BY seq LIMIT $4) e ON true
ORDER BY e.seq`,
    // All but the newest `$3` entries of owner `$2` dropped, and the floor raised to them.
    prune: `WITH d AS (DELETE FROM ${changes} WHERE namespace = $1 AND owner = $2 AND seq <= (
  SELECT seq FROM ${changes} WHERE namespace = $1 AND owner = $2 ORDER BY seq DESC OFFSET $3 LIMIT 1) RETURNING seq)
${raise(floors, "$2", "d")}`,
    // The entries older than `$2` ms dropped, and their owners' floors raised to them.
    age: `WITH d AS (DELETE FROM ${changes} WHERE namespace = $1 AND at < ${NOW_MS} - $2 RETURNING owner, seq)
INSERT INTO ${floors} (namespace, owner, floor, at) SELECT $1, owner, max(seq), ${NOW_MS} FROM d GROUP BY owner
ON CONFLICT (namespace, owner) DO UPDATE SET floor = greatest(${floors}.floor, excluded.floor), at = excluded.at`,
    // The floors of owners whose log is empty, raised more than `$2` ms ago, folded into the
    // namespace's: a row less per idle owner, and a cursor of theirs still answers `resync`
    // (as would any older than the newest of them: a reader idle that long lists again).
    forget: `WITH g AS (DELETE FROM ${floors} f WHERE namespace = $1 AND owner <> '${NAMESPACE_ROW}'
  AND at < ${NOW_MS} - $2
  AND NOT EXISTS (SELECT 1 FROM ${changes} c WHERE c.namespace = $1 AND c.owner = f.owner) RETURNING floor)
UPDATE ${floors} SET floor = greatest(${floors}.floor, (SELECT max(floor) FROM g))
WHERE namespace = $1 AND owner = '${NAMESPACE_ROW}' AND EXISTS (SELECT 1 FROM g)`,
    // The namespace's epoch: made by the first store to open it (`$2`), read by the others.
    epoch: `INSERT INTO ${floors} (namespace, owner, floor, epoch) VALUES ($1, '${NAMESPACE_ROW}', 0, $2)
ON CONFLICT (namespace, owner) DO NOTHING`,
    readEpoch: `SELECT epoch FROM ${floors} WHERE namespace = $1 AND owner = '${NAMESPACE_ROW}'`,
    // Every record of the namespace (of format `$2`) and its whole log; the namespace's floor
    // raised past every position given (a new one), so that every cursor answers `resync`.
    clearAll: `WITH top AS (SELECT nextval(pg_get_serial_sequence('${changes}', 'seq')) AS floor),
r AS (DELETE FROM ${table} WHERE namespace = $1 AND format = $2),
e AS (DELETE FROM ${changes} WHERE namespace = $1),
f AS (DELETE FROM ${floors} WHERE namespace = $1 AND owner <> '${NAMESPACE_ROW}')
UPDATE ${floors} SET floor = greatest(${floors}.floor, top.floor) FROM top
WHERE namespace = $1 AND owner = '${NAMESPACE_ROW}'`,
  };
}
