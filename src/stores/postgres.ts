/**
 * The PostgreSQL store (Node, through pg, an optional peer dependency).
 * @packageDocumentation
 */
import type { Pool } from "pg";
import { DEFAULT_NAMESPACE } from "../constants.ts";
import { BackendError } from "../errors.ts";
import { shortId } from "../log.ts";
import { driverClass, driverError } from "./driver.ts";
import { RECORD_FORMAT, readRecord } from "./record.ts";
import { lazy } from "./shared/lazy.ts";
import { pageFrom, prefixEnd } from "./shared/range.ts";
import { reporter } from "./shared/report.ts";
import type { SessionRecord, SessionStore, StoreContext } from "./types.ts";

/** Options of the PostgreSQL store. */
export interface PostgresStoreOptions {
  /** `postgres://user:password@host:5432/database`; the database defaults to the url's. */
  url?: string;
  /** Used when there is no `url`. Default `localhost`. */
  host?: string;
  /** Used when there is no `url`. Default `5432`. */
  port?: number;
  /** Rows carry it in a `namespace` column; other namespaces' rows are never touched. */
  namespace?: string;
  /** An existing `pg.Pool` (or connected `pg.Client`) to share; `close()` then leaves it open. */
  client?: PostgresClient;
  /** The table, created if absent: `name` or `schema.name`. Default `sessionmanager_sessions`. */
  table?: string;
  /** How long (ms) connecting or one query may take before the call rejects. Default 10000. */
  timeout?: number;
}

/**
 * What the store calls on a client handed in: a `pg.Pool`, `pg.Client` or `pg.PoolClient` has it.
 * Declared here so that type-checking the store needs neither pg nor `@types/pg`.
 */
export interface PostgresClient {
  /** Runs one parameterised statement (`$1`, `$2`, …), as `pg`'s `query` does. */
  query(
    text: string,
    values?: unknown[],
  ): Promise<{ rows: readonly unknown[]; rowCount: number | null }>;
}

type Row = {
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

const COLUMNS =
  "id, format, data, encrypted, created_at, updated_at, expires_at, ttl, version, max_age";
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/**
 * Sessions in a PostgreSQL table, shared by every process that points at it. The table (one row
 * per session, primary key `(namespace, id)`, an index on `(namespace, expires_at)`) is created on
 * `open` if absent. `data` is kept as JSON text, exactly as written; conditional writes are single
 * statements (`ON CONFLICT DO NOTHING`, `UPDATE … WHERE version = n`), atomic across processes.
 * Needs the `pg` package.
 * @example
 * new SessionManager({ backend: postgresStore({ url: process.env.DATABASE_URL, namespace: "myapp" }) })
 */
export function postgresStore(options: PostgresStoreOptions = {}): SessionStore {
  const namespace = options.namespace ?? DEFAULT_NAMESPACE;
  const tableName = options.table ?? "sessionmanager_sessions";
  const report = reporter();
  let pool: PostgresClient | undefined;
  let sql: Statements;
  const connect = async (): Promise<PostgresClient> => {
    // Checked here, not in the factory: a bad name rejects `open` rather than throwing at once.
    const table = quoteTable(tableName);
    sql = statements(table);
    pool ??= options.client ?? (await createPool(options, (error) => report(error)));
    await pool.query(createTableSql(tableName, table));
    return pool;
  };
  // A database that was down at `open` (or a table that could not be created then) is tried
  // again by the next call.
  const db = lazy(connect);
  const where = `postgres ${tableName}`;
  const read = (rows: Row[]): SessionRecord[] =>
    rows.flatMap((row) => report.skip(() => fromRow(row, where)) ?? []);
  const query = async (statement: keyof Statements, values: unknown[]) =>
    (await db()).query(sql[statement], values);
  // Rows of the columns the statements select (COLUMNS).
  const select = async (statement: keyof Statements, values: unknown[]) =>
    read((await query(statement, values)).rows as Row[]);
  const run = async (statement: keyof Statements, values: unknown[]) =>
    ((await query(statement, values)).rowCount ?? 0) > 0;

  return {
    name: "postgres",
    async open(context: StoreContext) {
      report.to(context);
      await db();
    },
    get: async (id) => (await select("get", [namespace, id]))[0],
    set(record, condition) {
      const values = toRow(namespace, record);
      if (!condition) return run("upsert", values);
      if ("ifAbsent" in condition) return run("insert", values);
      return run("update", [...values, condition.ifVersion]);
    },
    delete(id, condition) {
      if (!condition) return run("delete", [namespace, id]);
      return run("deleteVersion", [namespace, id, condition.ifVersion, RECORD_FORMAT]);
    },
    list: () => select("list", [namespace]),
    listPrefix(prefix) {
      const end = prefixEnd(prefix);
      return end === undefined
        ? select("from", [namespace, prefix])
        : select("range", [namespace, prefix, end]);
    },
    async listPage({ prefix = "", cursor, limit }) {
      const end = prefixEnd(prefix);
      const after = cursor === undefined ? [] : [cursor];
      const values = [namespace, prefix, ...after, ...(end === undefined ? [] : [end]), limit + 1];
      const statement =
        cursor === undefined
          ? end === undefined
            ? "page"
            : "pageBefore"
          : end === undefined
            ? "pageAfter"
            : "pageBetween";
      return pageFrom(await select(statement, values), limit);
    },
    async count({ prefix = "", now, upTo }) {
      const end = prefixEnd(prefix);
      const values = [namespace, prefix, ...(end === undefined ? [] : [end]), now, upTo ?? null];
      const { rows } = await query(end === undefined ? "countFrom" : "count", values);
      return Number((rows[0] as { n: string | number }).n);
    },
    async clear() {
      // Rows of another format (a newer SDK's) are left alone, as every store leaves them.
      await run("clear", [namespace, RECORD_FORMAT]);
    },
    purgeExpired: (now) => select("purge", [namespace, now, RECORD_FORMAT]),
    async close() {
      const own = pool && !options.client ? (pool as unknown as Pool) : undefined;
      pool = undefined;
      void db.reset();
      await own?.end();
    },
  };
}

async function createPool(
  options: PostgresStoreOptions,
  report: (error: Error) => void,
): Promise<PostgresClient> {
  const Pool = await loadPg();
  const timeout = options.timeout ?? 10_000;
  const where = options.url
    ? { connectionString: options.url }
    : { host: options.host ?? "localhost", port: options.port ?? 5432 };
  const pool = new Pool({ ...where, connectionTimeoutMillis: timeout, query_timeout: timeout });
  // An idle connection that breaks (the server restarted) emits `error` on the pool, which
  // would crash the process unheard; the pool drops it and connects again on the next call.
  pool.on("error", (error) =>
    report(new BackendError(`postgres connection lost: ${error.message}`, { cause: error })),
  );
  return pool;
}

/** pg, on first use: the name written out inside `try` (see driverError). */
async function loadPg() {
  try {
    return driverClass("postgres", "pg", (await import("pg")).Pool);
  } catch (error) {
    throw driverError("postgres", "pg", error);
  }
}

/**
 * The table and its index, created under an advisory lock: two processes running
 * `CREATE TABLE IF NOT EXISTS` at once can otherwise both try to create it (and one fails on
 * `pg_type`'s unique index). One simple-protocol query, so one implicit transaction holds the
 * lock. A table made before `max_age` (null: no cap) gets the column, and only such a table:
 * even `ADD COLUMN IF NOT EXISTS` waits for an exclusive lock on the table.
 */
function createTableSql(name: string, table: string): string {
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
CREATE INDEX IF NOT EXISTS ${index} ON ${table} (namespace, expires_at);`;
}

type Statements = ReturnType<typeof statements>;

function statements(table: string) {
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
    clear: `DELETE FROM ${table} WHERE namespace = $1 AND format = $2`,
    purge: `DELETE FROM ${table} WHERE namespace = $1 AND expires_at <= $2 AND format = $3 RETURNING ${COLUMNS}`,
  };
}

/** `name` or `schema.name` as a quoted identifier; anything else is refused (never interpolated). */
function quoteTable(name: string): string {
  const parts = name.split(".");
  if (parts.length > 2 || !parts.every((part) => IDENTIFIER.test(part))) {
    throw new BackendError(
      `table must be a name or schema.name of letters, digits and _, got ${JSON.stringify(name)}`,
    );
  }
  return parts.map((part) => `"${part}"`).join(".");
}

function toRow(namespace: string, record: SessionRecord): unknown[] {
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

function fromRow(row: Row, table: string): SessionRecord {
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
