import { chmodSync, statSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { BackendError, SessionManager } from "../../src/index.ts";
import { RECORD_FORMAT } from "../../src/stores/record.ts";
import { type SqliteStoreOptions, sqliteStore } from "../../src/stores/sqlite.ts";
import type { SessionStore } from "../../src/stores/types.ts";
import { rec } from "../helpers/records.ts";
import { tempDir } from "../helpers/temp.ts";
import { testStore } from "./conformance.ts";

const root = await tempDir("sessionmanager-sqlite-");

let files = 0;
/** A fresh database file in the test folder. */
const file = () => join(root, `case${++files}.db`);

// Every namespace of the suite in one database file, each store (and its twin) on its own connection.
const suiteFile = file();
const onFile = (namespace: string) => sqliteStore({ path: suiteFile, namespace });
testStore({ name: "sqlite (file)", create: onFile, twin: onFile });
testStore({ name: "sqlite (:memory:)", create: (namespace) => sqliteStore({ namespace }) });

const stores: SessionStore[] = [];
const databases: Database.Database[] = [];
afterAll(async () => {
  for (const store of stores) await store.close?.();
  for (const db of databases) db.close();
});

/** An opened store and what it reported. */
async function opened(
  options: SqliteStoreOptions,
): Promise<{ store: SessionStore; reports: Error[] }> {
  const reports: Error[] = [];
  const store = sqliteStore(options);
  await store.open?.({ report: (error) => reports.push(error) });
  stores.push(store);
  return { store, reports };
}

/** A connection of the test's own to a database file. */
function connect(path: string): Database.Database {
  const db = new Database(path);
  databases.push(db);
  return db;
}

describe("sqlite store", () => {
  it("puts a database file in WAL mode", async () => {
    const path = file();
    await opened({ path });
    expect(connect(path).pragma("journal_mode", { simple: true })).toBe("wal");
  });

  it("creates its database file, and the WAL beside it, readable by its owner only (0600)", async () => {
    const path = file();
    const { store } = await opened({ path });
    await store.set(rec("a"));
    for (const name of [path, `${path}-wal`, `${path}-shm`]) {
      expect((statSync(name).mode & 0o777).toString(8), name).toBe("600");
    }
  });

  it("leaves the mode of a database file that already exists as it is", async () => {
    const path = file();
    connect(path).exec("create table other (x)");
    chmodSync(path, 0o640);
    await opened({ path });
    expect((statSync(path).mode & 0o777).toString(8)).toBe("640");
  });

  it("creates its table with an index on (namespace, expires_at)", async () => {
    const path = file();
    await opened({ path, table: "my_sessions" });
    const indexes = connect(path)
      .prepare("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ?")
      .all("my_sessions") as { name: string; sql: string | null }[];
    const sweep = indexes.find((index) => index.sql?.includes("expires_at"));
    expect(sweep?.sql).toMatch(/ON "my_sessions" \(namespace, expires_at\)$/);
  });

  it("refuses a table name that is not a plain SQL name", () => {
    for (const table of ['x"; DROP TABLE y; --', "1abc", "a-b", "", "a".repeat(64)]) {
      expect(() => sqliteStore({ table })).toThrow(BackendError);
    }
    expect(() => sqliteStore({ table: "bad name" })).toThrow(
      'sqlite table must be a name of letters, digits and _ (not starting with a digit), got "bad name"',
    );
  });

  it("uses a database handed in, and leaves it open on close", async () => {
    const db = connect(":memory:");
    const { store } = await opened({ database: db, namespace: "app" });
    await store.set(rec("a", { data: { x: 1 } }));
    await store.close?.();
    expect(db.open).toBe(true);
    const row = db.prepare("SELECT namespace, id, data FROM sessionmanager_sessions").get();
    expect(row).toEqual({ namespace: "app", id: "a", data: '{"x":1}' });
  });

  it("adds max_age to a table made before it, and reads its old rows as uncapped", async () => {
    const path = file();
    const db = connect(path);
    // The table as versions before maxAge made it, with one of their rows.
    db.exec(`CREATE TABLE sessionmanager_sessions (
      namespace TEXT NOT NULL, id TEXT NOT NULL, data TEXT NOT NULL,
      created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,
      ttl INTEGER NOT NULL, version INTEGER NOT NULL, encrypted INTEGER NOT NULL, format INTEGER NOT NULL,
      PRIMARY KEY (namespace, id))`);
    const later = Date.now() + 60_000;
    db.prepare(
      "INSERT INTO sessionmanager_sessions VALUES ('app', 'before', '{\"n\":1}', 1, 1, ?, 1000, 3, 0, 1)",
    ).run(later);
    const { store, reports } = await opened({ path, namespace: "app" });
    const before = await store.get("before");
    expect(before).toMatchObject({ id: "before", data: { n: 1 }, expiresAt: later, version: 3 });
    expect(before && "maxAge" in before).toBe(false);
    expect(await store.set(rec("capped", { maxAge: 5000 }), { ifAbsent: true })).toBe(true);
    // Another connection (another process) finds the column there and adds nothing.
    const { store: again } = await opened({ path, namespace: "app" });
    expect((await again.list()).map((r) => [r.id, r.maxAge]).sort()).toEqual([
      ["before", undefined],
      ["capped", 5000],
    ]);
    expect(reports).toEqual([]);
  });

  it("refuses calls before open, and opens again for a call after close", async () => {
    const path = file();
    const store = sqliteStore({ path });
    expect(() => store.get("a")).toThrow("the sqlite store is not open");
    await store.open?.({ report: () => {} });
    await store.set(rec("a"));
    await store.close?.();
    expect((await store.get("a"))?.id).toBe("a");
    await store.close?.();
  });

  it("lists by prefix with a key range: % and _ are plain characters, any code point follows", async () => {
    const { store } = await opened({});
    const ids = ["a%", "a%b", "a%🎉", "a%\u{10FFFF}", "a_b", "axb", "a", "b%"];
    for (const id of ids) await store.set(rec(id));
    const list = async (prefix: string) =>
      (await store.listPrefix?.(prefix))?.map((r) => r.id).sort();
    expect(await list("a%")).toEqual(["a%", "a%b", "a%🎉", "a%\u{10FFFF}"].sort());
    expect(await list("a_")).toEqual(["a_b"]);
    expect(await list("a%\u{10FFFF}")).toEqual(["a%\u{10FFFF}"]);
    expect(await list("")).toEqual([...ids].sort());
  });

  it("keeps sessions across a restart (a new manager on the same file)", async () => {
    const path = file();
    const first = new SessionManager({ backend: sqliteStore({ path, namespace: "app" }) });
    const added = await first.add("user123", { data: { name: "Ada" }, ttl: "1h" });
    await first.touch("user123");
    const touched = await first.get("user123");
    await first.close();
    const second = new SessionManager({ backend: sqliteStore({ path, namespace: "app" }) });
    await second.ready;
    expect(second.status).toBe("ready");
    expect(await second.get("user123")).toEqual(touched);
    expect(touched?.version).toBe(added.version + 1);
    await second.close();
  });

  it("skips rows it cannot read with one report each, and never changes or deletes them", async () => {
    const path = file();
    const db = connect(path);
    const { store, reports } = await opened({ path, namespace: "app" });
    const insert = db.prepare(
      `INSERT INTO sessionmanager_sessions (namespace, id, data, created_at, updated_at, expires_at,
       ttl, version, encrypted, format) VALUES ('app', ?, ?, 1, 2, 3, 4, 1, 0, ?)`,
    );
    insert.run("future", '{"from":"a newer version"}', RECORD_FORMAT + 1);
    insert.run("broken", "{oops", RECORD_FORMAT);
    await store.set(rec("good"));
    expect((await store.list()).map((r) => r.id)).toEqual(["good"]);
    expect(await store.get("future")).toBeUndefined();
    expect(reports.map((e) => e.message).sort()).toEqual([
      "skipped the stored record sqlite sessionmanager_sessions app:brok…: its data is not JSON",
      `skipped the stored record sqlite sessionmanager_sessions app:futu…: its format is ${RECORD_FORMAT + 1}, this version reads ${RECORD_FORMAT}`,
    ]);
    expect(reports[0]).toBeInstanceOf(BackendError);
    expect(await store.set(rec("future"), { ifAbsent: true })).toBe(false);
    expect(await store.set(rec("future", { version: 2 }), { ifVersion: 1 })).toBe(false);
    expect(() => store.set(rec("future"))).toThrow(
      /cannot overwrite .+ this version cannot read it/,
    );
    expect(await store.delete("future")).toBe(false);
    expect(await store.delete("future", { ifVersion: 1 })).toBe(false);
    expect(await store.set(rec("broken", { version: 2 }), { ifVersion: 1 })).toBe(false);
    expect(() => store.set(rec("broken"))).toThrow(/cannot overwrite/);
    expect(await store.delete("broken", { ifVersion: 1 })).toBe(false);
    await store.purgeExpired(Number.MAX_SAFE_INTEGER);
    await store.clear();
    const left = db
      .prepare("SELECT id, data, format FROM sessionmanager_sessions ORDER BY id")
      .all();
    expect(left).toEqual([
      { id: "broken", data: "{oops", format: RECORD_FORMAT },
      { id: "future", data: '{"from":"a newer version"}', format: RECORD_FORMAT + 1 },
    ]);
    expect(reports).toHaveLength(2);
  });
});
