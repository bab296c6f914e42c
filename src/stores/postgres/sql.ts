// The PostgreSQL store's table of records: its DDL, its statements, and rows as records.
import { BackendError } from "../../errors.ts";
import { shortId } from "../../log.ts";
import { RECORD_FORMAT, readRecord } from "../record.ts";
import type { SessionRecord } from "../types.ts";

/** A row of the records table, as the statements select it (`COLUMNS`). */
export type Row = {
  id: string;
  format: number;
  data: string;
  encrypted: boolean;
  created_at: number;
  updated_at: number;
  expires_at: number;
  ttl: number;
  version: string;
  max_age: number | null;
};

/** The columns of a record, in the order of `toRow`'s values from `$2`. */
export const COLUMNS =
  "id, format, data, encrypted, created_at, updated_at, expires_at, ttl, version, max_age";
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/**
 * The table and its index, created under an advisory lock: two processes running
 * `CREATE TABLE IF NOT EXISTS` at once can otherwise both try to create it (and one fails on
 * `pg_type`'s unique index). One simple-protocol query, so one implicit transaction holds the
 * lock. A table made before `max_age` (null: no cap) gets the column, and only such a table:
 * even `ADD COLUMN IF NOT EXISTS` waits for an exclusive lock on the table. `more` (the change
 * log's tables) runs under the same lock.
 */
export function createTableSql(name: string, table: string, more = ""): string {
  const index = `"${name.split(".").pop()}_expires_at"`;
  return `SELECT pg_advisory_xact_lock(hashtext('sessionmanager:${name}'));
CREATE TABLE IF NOT EXISTS ${table} (
  namespace text NOT NULL,
  id text COLLATE "C" NOT NULL,
  format smallint NOT NULL,
  data text NOT NULL,
  encrypted boolean NOT NULL DEFAULT false,
  created_at double precision NOT NULL,
  updated_at double precision NOT NULL,
  expires_at double precision NOT NULL,
  ttl double precision NOT NULL,
  version bigint NOT NULL,
  max_age double precision,
  PRIMARY KEY (namespace, id)
);
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = '${table}'::regclass
      AND attname = 'max_age' AND NOT attisdropped) THEN
    ALTER TABLE ${table} ADD COLUMN max_age double precision;
  END IF;
END $$;
CREATE INDEX IF NOT EXISTS ${index} ON ${table} (namespace, expires_at);${more}`;
}

/** The statements of the records table, by name. */
export type Statements = ReturnType<typeof statements>;

/** The statements on `table` (quoted) that the root of the store runs. */
export function statements(table: string) {
  const insert = `INSERT INTO ${table} (namespace, ${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`;
  const assign =
    "format = $3, data = $4, encrypted = $5, created_at = $6, updated_at = $7, expires_at = $8, ttl = $9, version = $10, max_age = $11";
  const select = `SELECT ${COLUMNS} FROM ${table} WHERE namespace = $1`;
  return {
    get: `${select} AND id = $2`,
    insert: `${insert} ON CONFLICT (namespace, id) DO NOTHING`,
    upsert: `${insert} ON CONFLICT (namespace, id) DO UPDATE SET ${assign}`,
    // A row of another format is never overwritten, whatever its version says.
    update: `UPDATE ${table} SET ${assign} WHERE namespace = $1 AND id = $2 AND version = $12 AND format = $3`,
    delete: `DELETE FROM ${table} WHERE namespace = $1 AND id = $2`,
    deleteVersion: `DELETE FROM ${table} WHERE namespace = $1 AND id = $2 AND version = $3 AND format = $4`,
    list: `${select} ORDER BY id`,
    // A byte-order range on the primary key (the id column is COLLATE "C"): LIKE would need
    // `%` and `_` escaped and, under a language collation, could not use the index.
    range: `${select} AND id >= $2 AND id < $3 ORDER BY id`,
    from: `${select} AND id >= $2 ORDER BY id`,
    // A page of a range: from the prefix, after the cursor (if any), before its end (if any). A
    // statement for each, not optional bounds (`$3 IS NULL OR id > $3`): a generic plan (after
    // five runs of a prepared statement, or plan_cache_mode) filters on those rather than bound
    // the index scan, and a page reads every id after its prefix.
    page: `${select} AND id >= $2 ORDER BY id LIMIT $3`,
    pageBefore: `${select} AND id >= $2 AND id < $3 ORDER BY id LIMIT $4`,
    pageAfter: `${select} AND id >= $2 AND id > $3 ORDER BY id LIMIT $4`,
    pageBetween: `${select} AND id >= $2 AND id > $3 AND id < $4 ORDER BY id LIMIT $5`,
    // Live rows of a range, no more than the last parameter (NULL: all), from the primary key's
    // index; a row of another format counts too (a newer SDK's session is a session all the same).
    count: `SELECT count(*) AS n FROM (SELECT 1 FROM ${table} WHERE namespace = $1 AND id >= $2 AND id < $3 AND expires_at > $4 LIMIT $5) AS live`,
    countFrom: `SELECT count(*) AS n FROM (SELECT 1 FROM ${table} WHERE namespace = $1 AND id >= $2 AND expires_at > $3 LIMIT $4) AS live`,
    // The records of no owner (no "/" in the id): an owner's are swept with their log entries.
    purgeUnowned: `DELETE FROM ${table} WHERE namespace = $1 AND expires_at <= $2 AND format = $3 AND strpos(id, '/') = 0 RETURNING ${COLUMNS}`,
  };
}

/** `name` or `schema.name` as a quoted identifier; anything else is refused (never interpolated). */
export function quoteTable(name: string): string {
  const parts = name.split(".");
  if (parts.length > 2 || !parts.every((part) => IDENTIFIER.test(part))) {
    throw new BackendError(
      `table must be a name or schema.name of letters, digits and _, got ${JSON.stringify(name)}`,
    );
  }
  return parts.map((part) => `"${part}"`).join(".");
}

/** The values `$1` to `$11` of a write of `record` (the namespace first). */
export function toRow(namespace: string, record: SessionRecord): unknown[] {
  const { id, data, encrypted, createdAt, updatedAt, expiresAt, ttl, version, maxAge } = record;
  const json = JSON.stringify(data ?? null);
  return [
    namespace,
    id,
    RECORD_FORMAT,
    json,
    encrypted === true,
    createdAt,
    updatedAt,
    expiresAt,
    ttl,
    version,
    maxAge ?? null,
  ];
}

/** The record of `row`, or `BackendError` saying why it cannot be read. */
export function fromRow(row: Row, table: string): SessionRecord {
  const where = `${table} ${shortId(row.id)}`;
  const stored = {
    v: row.format,
    id: row.id,
    // Another format may keep `data` otherwise: readRecord refuses it before it is parsed.
    data: row.format === RECORD_FORMAT ? parseData(row.data, where) : null,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    expiresAt: row.expires_at,
    ttl: row.ttl,
    // bigint arrives as a string: pg does not round what a JS number cannot hold.
    version: Number(row.version),
    ...(row.max_age !== null && { maxAge: row.max_age }),
    ...(row.encrypted ? { encrypted: true } : {}),
  };
  return readRecord(stored, where);
}

function parseData(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new BackendError(`skipped the stored record ${where}: its data is not JSON`, { cause });
  }
}
