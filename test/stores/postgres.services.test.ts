// The PostgreSQL store against a real server: the conformance suite, then what only a shared SQL
// table has to get right (the table and index, concurrent opens, LIKE-free prefix ranges, writers
// on two connections, an outage). One table per run, dropped at the end.
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { SessionManager } from "../../src/index.ts";
import { postgresStore } from "../../src/stores/postgres.ts";
import type { SessionStore } from "../../src/stores/types.ts";
import { expectManagerOutage, expectStoreOutage } from "../helpers/outage.ts";
import { rec } from "../helpers/records.ts";
import { type Outage, proxy, requireService, runId, services, timed } from "../helpers/services.ts";
import { testStore } from "./conformance.ts";

const up = await requireService("postgres");
const { url } = services.postgres;
const run = runId();
const table = `sm_${run}`;
const tables = new Set([table]);
const admin = new pg.Pool({ connectionString: url, max: 2 });

afterAll(async () => {
  // With the change log's tables beside each.
  const drop = (name: string) => `"${name}", "${name}_changes", "${name}_changes_floor"`;
  if (up) for (const name of tables) await admin.query(`DROP TABLE IF EXISTS ${drop(name)}`);
  await admin.end();
});

const reported: Error[] = [];
const opened: SessionStore[] = [];
async function open(options: Parameters<typeof postgresStore>[0] = {}): Promise<SessionStore> {
  const store = postgresStore({ url, table, namespace: `${run}:${opened.length}`, ...options });
  opened.push(store);
  await store.open?.({ report: (error) => reported.push(error) });
  return store;
}
afterAll(async () => {
  for (const store of opened) await store.close?.();
});

/** A proxy to the server that can be taken away, and the server's URL through it. */
async function throughProxy(): Promise<{ outage: Outage; url: string }> {
  const outage = await proxy(services.postgres.host, services.postgres.port);
  const proxied = new URL(url);
  proxied.hostname = "127.0.0.1";
  proxied.port = String(outage.port);
  return { outage, url: proxied.href };
}

describe.skipIf(!up)("postgres", () => {
  // Each store of the suite, and its twin, with a pool of its own: separate connections.
  const create = (namespace: string) =>
    postgresStore({ url, table, namespace: `${run}:${namespace}` });
  testStore({ name: "postgres", create, twin: create });

  it("creates the table with its primary key, expiry index and byte-order ids", async () => {
    await open();
    const indexes = await admin.query("SELECT indexdef FROM pg_indexes WHERE tablename = $1", [
      table,
    ]);
    const defs = indexes.rows.map((row) => row.indexdef as string).join("\n");
    expect(defs).toMatch(/UNIQUE INDEX .* \(namespace, id\)/);
    expect(defs).toMatch(/INDEX .*_expires_at .* \(namespace, expires_at\)/);
    const column = await admin.query(
      "SELECT collation_name FROM information_schema.columns WHERE table_name = $1 AND column_name = 'id'",
      [table],
    );
    expect(column.rows[0].collation_name).toBe("C");
  });

  it("lets two processes create the same table at once", async () => {
    const fresh = `sm_${run}_race`;
    tables.add(fresh);
    const stores = Array.from({ length: 4 }, () => {
      // Each with its own pool, as separate processes would have.
      const store = postgresStore({ url, table: fresh, namespace: run });
      opened.push(store);
      return store;
    });
    await Promise.all(stores.map((store) => store.open?.({ report: (e) => reported.push(e) })));
    await stores[0]?.set(rec("a"));
    expect((await stores[3]?.get("a"))?.id).toBe("a");
  });

  it("accepts schema.table and refuses a table name it would have to interpolate", async () => {
    const bad = postgresStore({ url, table: 'x"; DROP TABLE y; --' });
    opened.push(bad);
    await expect(bad.open?.({ report: () => {} })).rejects.toThrow(/table must be a name/);
    const qualified = `public.sm_${run}_schema`;
    tables.add(`sm_${run}_schema`);
    const store = await open({ table: qualified });
    expect(await store.set(rec("a"))).toBe(true);
  });

  it("adds max_age to a table made before it, and reads its old rows as uncapped", async () => {
    const old = `sm_${run}_old`;
    tables.add(old);
    // The table as versions before maxAge made it, with one of their rows.
    await admin.query(`CREATE TABLE "${old}" (namespace text NOT NULL, id text COLLATE "C" NOT NULL,
      format smallint NOT NULL, data text NOT NULL, encrypted boolean NOT NULL DEFAULT false,
      created_at double precision NOT NULL, updated_at double precision NOT NULL,
      expires_at double precision NOT NULL, ttl double precision NOT NULL,
      version bigint NOT NULL, PRIMARY KEY (namespace, id))`);
    const later = Date.now() + 60_000;
    await admin.query(
      `INSERT INTO "${old}" (namespace, id, format, data, created_at, updated_at, expires_at, ttl, version)
       VALUES ($1, 'before', 1, '{"n":1}', 1, 1, $2, 1000, 3)`,
      [run, later],
    );
    const store = await open({ table: old, namespace: run });
    const before = await store.get("before");
    expect(before).toMatchObject({ id: "before", data: { n: 1 }, expiresAt: later, version: 3 });
    expect(before && "maxAge" in before).toBe(false);
    expect(await store.set(rec("capped", { maxAge: 5000 }), { ifAbsent: true })).toBe(true);
    expect((await store.get("capped"))?.maxAge).toBe(5000);
    // A second open (another process) finds the column there and changes nothing.
    const again = await open({ table: old, namespace: run });
    expect((await again.list()).map((r) => [r.id, r.maxAge])).toEqual([
      ["before", undefined],
      ["capped", 5000],
    ]);
  });

  it("lists by prefix with a range, so % and _ are plain characters", async () => {
    const store = await open();
    const ids = ["a%/1", "a%/2", "a_/1", "ab/1", "a/1", "é/1", "éa", "f", "\u{10ffff}x"];
    for (const id of ids) await store.set(rec(id));
    const prefix = async (p: string) =>
      ((await store.listPrefix?.(p)) ?? []).map((r) => r.id).sort();
    expect(await prefix("a%")).toEqual(["a%/1", "a%/2"]);
    expect(await prefix("a_")).toEqual(["a_/1"]);
    expect(await prefix("é")).toEqual(["é/1", "éa"]);
    expect(await prefix("\u{10ffff}")).toEqual(["\u{10ffff}x"]);
    expect(await prefix("")).toEqual([...ids].sort());
  });

  it("skips a row of another format with a report, and never deletes it", async () => {
    const store = await open();
    const namespace = `${run}:${opened.length - 1}`;
    await store.set(rec("ok", { expiresAt: 1 }));
    await admin.query(
      `INSERT INTO "${table}" (namespace, id, format, data, created_at, updated_at, expires_at, ttl, version)
       VALUES ($1, 'future', 99, '{}', 1, 1, 1, 1, 1), ($1, 'broken', 1, 'not json', 1, 1, 1, 1, 1)`,
      [namespace],
    );
    reported.length = 0;
    expect(await store.get("future")).toBeUndefined();
    expect((await store.list()).map((r) => r.id)).toEqual(["ok"]);
    expect(reported.map((e) => e.message)).toEqual([
      expect.stringMatching(/its format is 99/),
      expect.stringMatching(/its data is not JSON/),
      expect.stringMatching(/its format is 99/),
    ]);
    expect(await store.set(rec("future", { version: 2 }), { ifVersion: 1 })).toBe(false);
    expect(await store.delete("future", { ifVersion: 1 })).toBe(false);
    // Purged: the expired rows of this format ("broken" is deleted, and reported as unreadable).
    expect((await store.purgeExpired(Date.now())).map((r) => r.id)).toEqual(["ok"]);
    await store.clear();
    const left = await admin.query(`SELECT id FROM "${table}" WHERE namespace = $1`, [namespace]);
    expect(left.rows.map((row) => row.id)).toEqual(["future"]);
    reported.length = 0;
  });

  it("shares a pool it is given and leaves it open", async () => {
    const pool = new pg.Pool({ connectionString: url, max: 1 });
    const store = postgresStore({ client: pool, table, namespace: run });
    await store.open?.({ report: () => {} });
    await store.set(rec("shared"));
    await store.close?.();
    expect((await pool.query("SELECT 1 AS one")).rows[0].one).toBe(1);
    await pool.end();
  });

  it("rejects within a bounded time while the server is away, and works once it is back", async () => {
    const { outage, url: proxied } = await throughProxy();
    await expectStoreOutage(await open({ url: proxied, timeout: 2000 }), outage, 5000);
    reported.length = 0; // the pool reports the connections it lost
  });

  it("rejects at once when nothing listens, without throwing in the factory", async () => {
    const store = postgresStore({ host: "127.0.0.1", port: 1, timeout: 2000 });
    const down = await timed(Promise.resolve(store.open?.({ report: () => {} })));
    expect(down.error).toBeInstanceOf(Error);
    expect(down.ms).toBeLessThan(3000);
    await store.close?.();
  });

  it("serves SessionManagers end to end, and they see each other's sessions", async () => {
    const namespace = `${run}:sm`;
    const make = () =>
      new SessionManager<{ user: string }>({ backend: postgresStore({ url, table, namespace }) });
    const a = make();
    const b = make();
    const added = await a.add("u1", { data: { user: "ada" }, ttl: "10m" });
    expect(await b.get("u1")).toEqual(added);
    expect((await b.touch("u1", "20m")).version).toBe(2);
    expect((await a.get("u1"))?.version).toBe(2);
    await expect(b.add("u1", { data: { user: "eve" } })).rejects.toMatchObject({
      code: "SESSION_EXISTS",
    });
    expect(await b.remove("u1")).toBe(true);
    expect(await a.get("u1")).toBeUndefined();
    await a.close();
    await b.close();
  });

  it("fails a manager's calls with BackendError while the server is down", async () => {
    const { outage, url: proxied } = await throughProxy();
    const namespace = `${run}:down`;
    const backend = postgresStore({ url: proxied, table, namespace, timeout: 2000 });
    await expectManagerOutage(new SessionManager({ backend }), outage);
  });
});
