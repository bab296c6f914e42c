/**
 * The SQLite store (Node, through better-sqlite3, an optional peer dependency).
 * @packageDocumentation
 */
import { closeSync, openSync } from "node:fs";
import type BetterSqlite3 from "better-sqlite3";
import { DEFAULT_NAMESPACE } from "../constants.ts";
import { BackendError } from "../errors.ts";
import { shortId } from "../log.ts";
import { driverClass, driverError } from "./driver.ts";
import { RECORD_FORMAT, readRecord } from "./record.ts";
import { pageFrom, prefixEnd } from "./shared/range.ts";
import { reporter, storeError } from "./shared/report.ts";
import type { SessionRecord, SessionStore, StoreContext } from "./types.ts";

/** Options of the SQLite store. */
export interface SqliteStoreOptions {
  /** The database file, created if absent; `":memory:"` (the default) lasts until `close`. */
  path?: string;
  /** Rows carry their namespace; a store reads and changes only its own. */
  namespace?: string;
  /** The table, created if absent: letters, digits and `_`. Default `sessionmanager_sessions`. */
  table?: string;
  /** An open better-sqlite3 database to use instead of opening `path`; `close` leaves it open. */
  database?: SqliteDatabase;
}

/**
 * What the store calls on a database handed in: a better-sqlite3 `Database` has it. Declared
 * here so that type-checking the store needs neither better-sqlite3 nor its `@types` package.
 */
export interface SqliteDatabase {
  /** Runs SQL statements that return nothing (the schema, pragmas). */
  exec(source: string): unknown;
  /** Compiles one statement, run with its parameters. */
  prepare(source: string): {
    /** Runs it; `changes` is the count of rows written. */
    run(...params: unknown[]): { changes: number };
    /** The first row, or `undefined`. */
    get(...params: unknown[]): unknown;
    /** Every row. */
    all(...params: unknown[]): unknown[];
  };
}

/**
 * Sessions in SQLite through better-sqlite3 (an optional peer dependency: `npm install
 * better-sqlite3`), loaded when the store opens. A database file it opens is put in WAL mode, so
 * readers do not wait for writers and several processes can share the file; conditional writes
 * are single SQL statements, so they hold across connections and processes. Calls answer
 * synchronously, as better-sqlite3 does.
 * @example
 * new SessionManager({ backend: sqliteStore({ path: "sessions.db", namespace: "myapp" }) })
 */
export function sqliteStore(options: SqliteStoreOptions = {}): SessionStore {
  const { path = ":memory:", namespace = DEFAULT_NAMESPACE } = options;
  const { table = "sessionmanager_sessions" } = options;
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(table)) {
    throw new BackendError(
      `sqlite table must be a name of letters, digits and _ (not starting with a digit), got ${JSON.stringify(table)}`,
    );
  }
  let db: BetterSqlite3.Database | undefined;
  let sql: Statements | undefined;
  /** Opens a connection: set by `open`, once the driver is loaded. */
  let connect: (() => BetterSqlite3.Database) | undefined;
  /** Why `open` failed before it could connect (the driver did not load), for the calls after. */
  let openError: Error | undefined;
  const report = reporter();
  const reported = new Set<string>();

  // After `close`, or when opening failed, the next call opens again: a file that could not be
  // opened (locked, not yet writable) works once it can be.
  const statements = (): Statements => {
    if (sql) return sql;
    if (!connect) throw notOpen(openError);
    const opened = connect();
    try {
      sql = prepare(opened, table);
    } catch (error) {
      if (opened !== options.database) opened.close();
      throw error;
    }
    db = opened;
    return sql;
  };
  /** The record in `row`, or `undefined` when it cannot be read (reported once per row). */
  const read = (row: Row | undefined): SessionRecord | undefined => {
    if (!row) return undefined;
    try {
      return toRecord(row, `sqlite ${table} ${namespace}:${shortId(row.id)}`);
    } catch (error) {
      const key = JSON.stringify(row);
      if (!reported.has(key)) report(error as Error);
      reported.add(key);
      return undefined;
    }
  };
  const readAll = (rows: Row[]): SessionRecord[] =>
    rows.map(read).filter((record) => record !== undefined);

  return {
    name: "sqlite",
    async open(context: StoreContext) {
      report.to(context);
      const { database } = options;
      // Typed here by the driver's own types, which the options do not name: see SqliteDatabase.
      if (database) connect = () => database as BetterSqlite3.Database;
      else {
        const Database = await loadBetterSqlite3().catch((error: Error) => {
          openError = error;
          throw error;
        });
        openError = undefined;
        connect = () => openFile(Database, path);
      }
      statements();
    },
    get: (id) => read(statements().get.get(namespace, id)),
    set(record, condition) {
      const row = toRow(namespace, record);
      const { insert, update, upsert } = statements();
      if (condition) {
        const done =
          "ifAbsent" in condition ? insert.run(row) : update.run({ ...row, ...condition });
        return done.changes === 1;
      }
      if (upsert.run(row).changes === 1) return true;
      throw new BackendError(
        `cannot overwrite the stored record sqlite ${table} ${namespace}:${shortId(record.id)}: this version cannot read it`,
      );
    },
    delete(id, condition) {
      const { remove, removeIfVersion } = statements();
      const done = condition
        ? removeIfVersion.run(namespace, id, condition.ifVersion)
        : remove.run(namespace, id);
      return done.changes === 1;
    },
    list: () => readAll(statements().list.all(namespace)),
    listPrefix(prefix) {
      const { from, range } = statements();
      const end = prefixEnd(prefix);
      return readAll(end ? range.all(namespace, prefix, end) : from.all(namespace, prefix));
    },
    listPage({ prefix = "", cursor, limit }) {
      const end = prefixEnd(prefix) ?? null;
      const rows = statements().page.all({ namespace, prefix, cursor: cursor ?? null, end, limit });
      return pageFrom(readAll(rows), limit);
    },
    count({ prefix = "", now, upTo }) {
      const { count, countFrom } = statements();
      const end = prefixEnd(prefix);
      // A negative LIMIT is none in SQLite.
      const params = { namespace, prefix, end: end ?? null, now, upTo: upTo ?? -1 };
      return ((end === undefined ? countFrom : count).get(params) as { n: number }).n;
    },
    clear() {
      statements().clear.run(namespace);
    },
    purgeExpired: (now) => readAll(statements().purge.all(namespace, now)),
    // A call after close opens the database again, as after a failed open.
    close() {
      if (options.database) return;
      sql = undefined;
      db?.close();
    },
  };
}

/** The parameters of a page's statement. */
interface PageParams {
  namespace: string;
  prefix: string;
  cursor: string | null;
  end: string | null;
  limit: number;
}

/** The parameters of a count's statement (`end` unused by `countFrom`). */
interface CountParams {
  namespace: string;
  prefix: string;
  end: string | null;
  now: number;
  upTo: number;
}

/** A row as stored: the record's fields, `data` as JSON text, and the record format. */
interface Row {
  namespace: string;
  id: string;
  data: string;
  created_at: number;
  updated_at: number;
  expires_at: number;
  ttl: number;
  version: number;
  encrypted: number;
  format: number;
  /** Null: no cap (and every row of a table made before the column). */
  max_age: number | null;
}

/** better-sqlite3, on first use: the name written out inside `try` (see driverError). */
async function loadBetterSqlite3(): Promise<typeof BetterSqlite3> {
  try {
    return driverClass("sqlite", "better-sqlite3", (await import("better-sqlite3")).default);
  } catch (error) {
    throw driverError("sqlite", "better-sqlite3", error);
  }
}

/** The error of a call that finds the store not open, saying why when opening failed. */
function notOpen(why: Error | undefined): BackendError {
  if (!why) return storeError("sqlite", "is not open");
  return storeError("sqlite", `is not open: ${why.message}`, why);
}

function openFile(Database: typeof BetterSqlite3, path: string): BetterSqlite3.Database {
  // Sessions are secrets: a database file this store creates is readable by its owner only, as
  // the file store's is (SQLite gives the WAL and shared-memory files the same mode). A file
  // that exists keeps the mode its owner gave it. (":memory:", "" and URIs create no such file.)
  if (path !== ":memory:" && path !== "" && !path.startsWith("file:")) {
    try {
      closeSync(openSync(path, "wx", 0o600));
    } catch (error) {
      if (!(error instanceof Error && "code" in error && error.code === "EEXIST")) throw error;
    }
  }
  // Waits this long for another connection's write lock before failing with SQLITE_BUSY.
  const db = new Database(path, { timeout: 5000 });
  if (!db.memory) {
    db.pragma("journal_mode = WAL");
    // In WAL mode NORMAL loses no data when the process crashes, only the last commits on power loss.
    db.pragma("synchronous = NORMAL");
  }
  return db;
}

type Statements = ReturnType<typeof prepare>;

const COLUMNS = [
  "namespace",
  "id",
  "data",
  "created_at",
  "updated_at",
  "expires_at",
  "ttl",
  "version",
  "encrypted",
  "format",
  "max_age",
] as const;

// Rows this version cannot read (another format, data that is not JSON) are never changed or
// deleted: every write and delete is limited to the rows this holds for.
const READABLE = `format = ${RECORD_FORMAT} AND json_valid(data)`;

/** Creates the table and its index if absent, and prepares every statement once. */
function prepare(db: BetterSqlite3.Database, table: string) {
  const t = `"${table}"`;
  db.exec(`CREATE TABLE IF NOT EXISTS ${t} (
    namespace TEXT NOT NULL, id TEXT NOT NULL, data TEXT NOT NULL,
    created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,
    ttl INTEGER NOT NULL, version INTEGER NOT NULL, encrypted INTEGER NOT NULL, format INTEGER NOT NULL,
    max_age INTEGER, PRIMARY KEY (namespace, id))`);
  // A table made before max_age gets the column (SQLite has no ADD COLUMN IF NOT EXISTS).
  const columns = db.prepare<[], { name: string }>(`PRAGMA table_info(${t})`).all();
  if (!columns.some((c) => c.name === "max_age")) {
    db.exec(`ALTER TABLE ${t} ADD COLUMN max_age INTEGER`);
  }
  db.exec(`CREATE INDEX IF NOT EXISTS "${table}_expires" ON ${t} (namespace, expires_at)`);
  const insert = `INSERT INTO ${t} (${COLUMNS.join(", ")}) VALUES (${COLUMNS.map((c) => `@${c}`).join(", ")})`;
  const assign = COLUMNS.slice(2)
    .map((c) => `${c} = @${c}`)
    .join(", ");
  const rows = <P extends unknown[]>(source: string) => db.prepare<P, Row>(source);
  const key = "namespace = ? AND id";
  return {
    get: rows<[string, string]>(`SELECT * FROM ${t} WHERE ${key} = ?`),
    insert: db.prepare<Row>(`${insert} ON CONFLICT DO NOTHING`),
    update: db.prepare<Row & { ifVersion: number }>(
      `UPDATE ${t} SET ${assign} WHERE namespace = @namespace AND id = @id AND version = @ifVersion AND ${READABLE}`,
    ),
    upsert: db.prepare<Row>(
      `${insert} ON CONFLICT (namespace, id) DO UPDATE SET ${assign} WHERE ${READABLE}`,
    ),
    remove: db.prepare<[string, string]>(`DELETE FROM ${t} WHERE ${key} = ? AND ${READABLE}`),
    removeIfVersion: db.prepare<[string, string, number]>(
      `DELETE FROM ${t} WHERE ${key} = ? AND version = ? AND ${READABLE}`,
    ),
    list: rows<[string]>(`SELECT * FROM ${t} WHERE namespace = ?`),
    // Ranges on the primary key, not LIKE: ids may hold % and _.
    range: rows<[string, string, string]>(`SELECT * FROM ${t} WHERE ${key} >= ? AND id < ?`),
    from: rows<[string, string]>(`SELECT * FROM ${t} WHERE ${key} >= ?`),
    // A page of a range: from the prefix, after the cursor (if any), before its end (if any);
    // one row more than asked for tells that more follow.
    page: rows<[PageParams]>(
      `SELECT * FROM ${t} WHERE namespace = @namespace AND id >= @prefix AND (@cursor IS NULL OR id > @cursor) AND (@end IS NULL OR id < @end) ORDER BY id LIMIT @limit + 1`,
    ),
    // Live rows of a range, no more than @upTo of them, read from the primary key's index (every
    // row counts, one of a format this version cannot read too: it is a session all the same).
    count: db.prepare<[CountParams], { n: number }>(
      `SELECT count(*) AS n FROM (SELECT 1 FROM ${t} WHERE namespace = @namespace AND id >= @prefix AND id < @end AND expires_at > @now LIMIT @upTo)`,
    ),
    countFrom: db.prepare<[CountParams], { n: number }>(
      `SELECT count(*) AS n FROM (SELECT 1 FROM ${t} WHERE namespace = @namespace AND id >= @prefix AND expires_at > @now LIMIT @upTo)`,
    ),
    clear: db.prepare<[string]>(`DELETE FROM ${t} WHERE namespace = ? AND ${READABLE}`),
    purge: rows<[string, number]>(
      `DELETE FROM ${t} WHERE namespace = ? AND expires_at <= ? AND ${READABLE} RETURNING *`,
    ),
  };
}

function toRow(namespace: string, record: SessionRecord): Row {
  return {
    namespace,
    id: record.id,
    data: JSON.stringify(record.data ?? null),
    created_at: record.createdAt,
    updated_at: record.updatedAt,
    expires_at: record.expiresAt,
    ttl: record.ttl,
    version: record.version,
    encrypted: record.encrypted ? 1 : 0,
    format: RECORD_FORMAT,
    max_age: record.maxAge ?? null,
  };
}

function toRecord(row: Row, where: string): SessionRecord {
  let data: unknown;
  try {
    data = JSON.parse(row.data);
  } catch (cause) {
    throw new BackendError(`skipped the stored record ${where}: its data is not JSON`, { cause });
  }
  return readRecord(
    {
      v: row.format,
      id: row.id,
      data,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
      expiresAt: row.expires_at,
      ttl: row.ttl,
      version: row.version,
      encrypted: row.encrypted === 1,
      ...(row.max_age !== null && { maxAge: row.max_age }),
    },
    where,
  );
}
