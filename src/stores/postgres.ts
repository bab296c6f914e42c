/**
 * The PostgreSQL store (Node, through pg, an optional peer dependency).
 * @packageDocumentation
 */
import type { Client, ClientConfig, Pool } from "pg";
import { DEFAULT_NAMESPACE } from "../constants.ts";
import { BackendError } from "../errors.ts";
import { driverClass, driverError } from "./driver.ts";
import { type ListenClient, Watcher } from "./postgres/listen.ts";
import { ChangeLog } from "./postgres/log.ts";
import { type LogStatements, logNames, logStatements, logTablesSql } from "./postgres/log-sql.ts";
import {
  createTableSql,
  fromRow,
  quoteTable,
  type Row,
  type Statements,
  statements,
  toRow,
} from "./postgres/sql.ts";
import { RECORD_FORMAT } from "./record.ts";
import { lazy } from "./shared/lazy.ts";
import { pageFrom, prefixEnd } from "./shared/range.ts";
import { reporter } from "./shared/report.ts";
import type { ChangeLogOptions, SessionRecord, SessionStore, StoreContext } from "./types.ts";

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
  /**
   * An existing `pg.Pool` (or connected `pg.Client`) to share; `close()` then leaves it open.
   * With a pool, `watch` opens one connection of its own with the pool's settings (for
   * `LISTEN`); with a single client it cannot, and `watch` hears only this store's own writes.
   */
  client?: PostgresClient;
  /**
   * The table, created if absent: `name` or `schema.name`. Default `sessionmanager_sessions`.
   * The change log of the partitions lives beside it, in `<name>_changes` and
   * `<name>_changes_floor`.
   */
  table?: string;
  /**
   * How long (ms) connecting or one query may take before the call rejects. Default 10000. The
   * LISTEN connection of `watch` is checked this often, and reopened when it does not answer
   * within as long.
   */
  timeout?: number;
  /**
   * The bounds of each owner's change log (`partition(owner).changes`): the newest `maxEntries`
   * entries (default 1000) and no older than `maxAge` ms (default 1 hour). A reader whose
   * cursor is past the bound answers `resync`.
   */
  changeLog?: ChangeLogOptions;
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

/** How long (ms) connecting or one query may take, unless `timeout` says otherwise. */
const DEFAULT_TIMEOUT = 10_000;
/** Entries a `watch` reads per query. */
const WATCH_PAGE = 100;

/**
 * Sessions in a PostgreSQL table, shared by every process that points at it. The table (one row
 * per session, primary key `(namespace, id)`, an index on `(namespace, expires_at)`) is created on
 * `open` if absent. `data` is kept as JSON text, exactly as written; conditional writes are single
 * statements (`ON CONFLICT DO NOTHING`, `UPDATE … WHERE version = n`), atomic across processes.
 * `partition(owner)` keeps the owner's records in the same table (ids `partitionPrefix(owner) +
 * id`) and logs each of its writes in the same statement; `watch` hears every process's writes
 * through `LISTEN`/`NOTIFY`. Needs the `pg` package.
 * @example
 * new SessionManager({ backend: postgresStore({ url: process.env.DATABASE_URL, namespace: "myapp" }) })
 */
export function postgresStore(options: PostgresStoreOptions = {}): SessionStore {
  const namespace = options.namespace ?? DEFAULT_NAMESPACE;
  const tableName = options.table ?? "sessionmanager_sessions";
  const report = reporter();
  const names = logNames(tableName, namespace);
  let pool: PostgresClient | undefined;
  let sql: Statements;
  let logSql: LogStatements;
  const connect = async (): Promise<PostgresClient> => {
    // Checked here, not in the factory: a bad name rejects `open` rather than throwing at once.
    const table = quoteTable(tableName);
    log.check();
    sql = statements(table);
    logSql = logStatements(table, names, log.maxAge);
    pool ??= options.client ?? (await createPool(options, (error) => report(error)));
    const db = pool;
    await db.query(createTableSql(tableName, table, logTablesSql(names)));
    await log.open((statement, values) => db.query(logSql[statement], values));
    return db;
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
  const watcher = new Watcher({
    channel: names.channel,
    heartbeat: options.timeout ?? DEFAULT_TIMEOUT,
    connect: listener(options),
    head: async (owner) => (await log.changes(owner, { limit: 1 })).next,
    read: (owner, cursor) => log.changes(owner, { cursor, limit: WATCH_PAGE }),
    report,
  });
  const log: ChangeLog = new ChangeLog(
    {
      namespace,
      connected: () => db(),
      query: async (statement, values) => (await db()).query(logSql[statement], values),
      read,
      skip: (fn) => report.skip(fn),
      watcher,
      where,
    },
    options.changeLog,
  );

  const store: SessionStore = {
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
    partition: (owner) => log.partition(store, owner),
    async count({ prefix = "", now, upTo }) {
      const end = prefixEnd(prefix);
      const values = [namespace, prefix, ...(end === undefined ? [] : [end]), now, upTo ?? null];
      const { rows } = await query(end === undefined ? "countFrom" : "count", values);
      return Number((rows[0] as { n: string | number }).n);
    },
    async clear() {
      // Rows of another format (a newer SDK's) are left alone, as every store leaves them. The
      // log goes too, and every cursor given answers `resync`.
      await (await db()).query(logSql.clearAll, [namespace, RECORD_FORMAT]);
    },
    async purgeExpired(now) {
      const owned = await log.purgeOwners(now);
      return [...owned, ...(await select("purgeUnowned", [namespace, now, RECORD_FORMAT]))];
    },
    async close() {
      await watcher.close();
      const own = pool && !options.client ? (pool as unknown as Pool) : undefined;
      pool = undefined;
      void db.reset();
      await own?.end();
    },
  };
  return store;
}

async function createPool(
  options: PostgresStoreOptions,
  report: (error: Error) => void,
): Promise<PostgresClient> {
  const { Pool } = await loadPg();
  const pool = new Pool(configOf(options));
  // An idle connection that breaks (the server restarted) emits `error` on the pool, which
  // would crash the process unheard; the pool drops it and connects again on the next call.
  pool.on("error", (error) =>
    report(new BackendError(`postgres connection lost: ${error.message}`, { cause: error })),
  );
  return pool;
}

/** Where to connect, and for how long to wait. */
function configOf(options: PostgresStoreOptions): ClientConfig {
  const timeout = options.timeout ?? DEFAULT_TIMEOUT;
  const where = options.url
    ? { connectionString: options.url }
    : { host: options.host ?? "localhost", port: options.port ?? 5432 };
  return { ...where, connectionTimeoutMillis: timeout, query_timeout: timeout };
}

/**
 * Opens the connection `watch` listens on: a `pg.Client` of its own (a pooled one would be
 * handed to others between queries, and lose its LISTEN), with the settings of the store's own
 * pool or of the pool handed in. `undefined` for a single client handed in (no settings to copy).
 */
function listener(options: PostgresStoreOptions): (() => Promise<ListenClient>) | undefined {
  const handed = options.client as Partial<Pool> | undefined;
  if (handed && !(typeof handed.totalCount === "number" && handed.options)) return undefined;
  return async () => {
    const { Client } = await loadPg();
    const config: ClientConfig = handed?.options ?? configOf(options);
    const client: Client = new Client({
      application_name: "sessionmanager-listen",
      ...config,
      // A dead peer is noticed by TCP keepalive; the LISTEN connection sends nothing itself.
      keepAlive: true,
    });
    // The watcher listens to `error` once it has the client: until then, an error of the
    // client being opened is the rejection of `connect`.
    const quiet = () => {};
    client.on("error", quiet);
    await client.connect();
    client.off("error", quiet);
    return client;
  };
}

/** pg, on first use: the name written out inside `try` (see driverError). */
async function loadPg() {
  try {
    const pg = await import("pg");
    const Pool = driverClass("postgres", "pg", pg.Pool ?? pg.default?.Pool);
    const Client = driverClass("postgres", "pg", pg.Client ?? pg.default?.Client);
    return { Pool, Client };
  } catch (error) {
    throw driverError("postgres", "pg", error);
  }
}
