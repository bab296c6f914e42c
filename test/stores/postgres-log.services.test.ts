// The PostgreSQL store's change log against a real server: the change-log conformance suite
// (twins with pools of their own, as two processes), then what only LISTEN/NOTIFY and a shared
// table have to get right. One table per run, dropped at the end with its log's tables.
import { type AddressInfo, createServer, type Socket, connect as tcpConnect } from "node:net";
import pg from "pg";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { logNames } from "../../src/stores/postgres/log-sql.ts";
import { postgresStore } from "../../src/stores/postgres.ts";
import { partitionOf } from "../../src/stores/shared/partition.ts";
import type {
  ChangeEntry,
  ChangeLogOptions,
  ResyncSignal,
  SessionPartition,
  SessionStore,
} from "../../src/stores/types.ts";
import { rec } from "../helpers/records.ts";
import { requireService, runId, services } from "../helpers/services.ts";
import { testChangeLog } from "./change-log.ts";

const up = await requireService("postgres");
const { url } = services.postgres;
const run = runId();
const table = `sml_${run}`;
const admin = new pg.Pool({ connectionString: url, max: 2 });

afterAll(async () => {
  if (up) {
    for (const suffix of ["", "_changes", "_changes_floor"]) {
      await admin.query(`DROP TABLE IF EXISTS "${table}${suffix}"`);
    }
  }
  await admin.end();
});

describe.skipIf(!up)("postgres change log", () => {
  const create = (namespace: string, changeLog?: ChangeLogOptions) =>
    postgresStore({
      url,
      table,
      namespace: `${run}:${namespace}`,
      ...(changeLog && { changeLog }),
    });
  testChangeLog({ name: "postgres", create, twin: create });
});

type Heard = (ChangeEntry | ResyncSignal)[];
type Logged = SessionPartition & Required<Pick<SessionPartition, "changes" | "watch">>;

describe.skipIf(!up)("postgres change log across processes", () => {
  let sequence = 0;
  const opened: SessionStore[] = [];
  const stops: (() => void)[] = [];
  const reported: Error[] = [];
  /** Stores on one namespace, each with a pool of its own (as two processes would have). */
  const stores = async (n: number, options: Parameters<typeof postgresStore>[0] = {}) => {
    const namespace = `${run}:x${++sequence}`;
    const made: SessionStore[] = [];
    for (let i = 0; i < n; i++) {
      const store = postgresStore({ url, table, namespace, ...options });
      await store.open?.({ report: (error) => reported.push(error) });
      opened.push(store);
      made.push(store);
    }
    return { namespace, stores: made };
  };
  const part = (store: SessionStore, owner: string) => partitionOf(store, owner) as Logged;
  const listen = (p: Logged): Heard => {
    const heard: Heard = [];
    stops.push(p.watch((entry) => heard.push(entry)));
    return heard;
  };
  /** The LISTEN connections of a namespace's stores (one per store that has watchers). */
  const listeners = async (namespace: string) => {
    const { rows } = await admin.query(
      "SELECT pid FROM pg_stat_activity WHERE query = $1 AND state = 'idle'",
      [`LISTEN "${channelOf(namespace)}"`],
    );
    return rows.map((row) => row.pid as number);
  };
  const logRows = async (namespace: string, owner?: string) => {
    const { rows } = await admin.query(
      `SELECT count(*)::int AS n FROM "${table}_changes" WHERE namespace = $1 AND ($2::text IS NULL OR owner = $2)`,
      [namespace, owner === undefined ? null : encodeURIComponent(owner)],
    );
    return rows[0].n as number;
  };
  afterEach(async () => {
    for (const stop of stops.splice(0)) stop();
    for (const store of opened.splice(0)) await store.close?.();
    expect(reported.splice(0)).toEqual([]);
  });

  it("delivers concurrent writers' entries to a watcher elsewhere once each, in log order", async () => {
    const {
      stores: [one, two, three],
    } = await stores(3);
    const heard = listen(part(three as SessionStore, "alice"));
    const bob = listen(part(three as SessionStore, "bob"));
    const reader = part(three as SessionStore, "alice");
    const { next: head } = await reader.changes({ limit: 1 });
    const write = (store: SessionStore, tag: string) => async () => {
      const p = part(store, "alice");
      for (let i = 0; i < 25; i++) await p.set(rec(`${tag}${i}`), { ifAbsent: true });
    };
    await Promise.all([write(one as SessionStore, "a")(), write(two as SessionStore, "b")()]);
    await until(() => heard.length >= 50);
    const { entries, more } = await reader.changes({ cursor: head, limit: 100 });
    expect(more).toBeUndefined();
    expect(entries).toHaveLength(50);
    expect(heard).toEqual(entries);
    expect(bob).toEqual([]);
  });

  it("keeps owners apart whose names hold '/', '%' or other characters", async () => {
    const {
      stores: [writer, watcher],
    } = await stores(2);
    const owners = ["a/b", "a%2Fb", "a", "a/", "ü 💥", "%"];
    const heard = owners.map((owner) => listen(part(watcher as SessionStore, owner)));
    // Each watch reads its head before it hears anything: wait for them.
    await Promise.all(
      owners.map((owner) => part(watcher as SessionStore, owner).changes({ limit: 1 })),
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    for (const [i, owner] of owners.entries()) {
      await part(writer as SessionStore, owner).set(rec(`s${i}`), { ifAbsent: true });
    }
    await until(() => heard.every((h) => h.length >= 1));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(heard.map((h) => h.map((e) => ("id" in e ? e.id : "resync")))).toEqual(
      owners.map((_, i) => [`s${i}`]),
    );
  });

  it("carries a record larger than NOTIFY's 8000-byte payload", async () => {
    const {
      stores: [writer, watcher],
    } = await stores(2);
    const heard = listen(part(watcher as SessionStore, "alice"));
    await part(watcher as SessionStore, "alice").changes({ limit: 1 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const big = { blob: "x".repeat(20_000), list: Array.from({ length: 500 }, (_, i) => i) };
    await part(writer as SessionStore, "alice").set(rec("big", { data: big }), { ifAbsent: true });
    await until(() => heard.length >= 1);
    expect((heard[0] as ChangeEntry).record?.data).toEqual(big);
  });

  it("after the LISTEN connection is cut: a resync, then entries flow again", async () => {
    const {
      namespace,
      stores: [writer, watcher],
    } = await stores(2);
    const heard = listen(part(watcher as SessionStore, "alice"));
    await until(async () => (await listeners(namespace)).length === 1);
    await part(writer as SessionStore, "alice").set(rec("before"), { ifAbsent: true });
    await until(() => heard.length >= 1);
    const [pid] = await listeners(namespace);
    await admin.query("SELECT pg_terminate_backend($1)", [pid]);
    await until(() => heard.some((e) => "resync" in e));
    // The watcher reported the loss.
    expect(reported.splice(0).map((e) => e.message)).toEqual([
      expect.stringMatching(/LISTEN connection lost/),
    ]);
    await until(async () => (await listeners(namespace)).length === 1);
    expect((await listeners(namespace))[0]).not.toBe(pid);
    await part(writer as SessionStore, "alice").set(rec("after"), { ifAbsent: true });
    await until(() => heard.some((e) => "id" in e && e.id === "after"));
    expect(heard.map((e) => ("id" in e ? e.id : "resync"))).toEqual(["before", "resync", "after"]);
  });

  it("reopens a LISTEN connection that went silent (a network drop): a resync, then what it missed", async () => {
    const silence = await silencer();
    try {
      const namespace = `${run}:silent${++sequence}`;
      const proxied = new URL(url);
      proxied.hostname = "127.0.0.1";
      proxied.port = String(silence.port);
      const writer = postgresStore({ url, table, namespace });
      const watcher = postgresStore({ url: proxied.href, table, namespace, timeout: 1000 });
      for (const store of [writer, watcher]) {
        await store.open?.({ report: (error) => reported.push(error) });
        opened.push(store);
      }
      const heard = listen(part(watcher, "alice"));
      await until(async () => (await listeners(namespace)).length === 1);
      await part(writer, "alice").set(rec("before"), { ifAbsent: true });
      await until(() => heard.length >= 1);
      silence.mute();
      await part(writer, "alice").set(rec("missed"), { ifAbsent: true });
      await until(() => heard.some((e) => "resync" in e));
      expect(reported.splice(0).map((e) => e.message)).toEqual([
        expect.stringMatching(/LISTEN connection lost: no answer in 1000 ms/),
      ]);
      await until(() => heard.some((e) => "id" in e && e.id === "missed"));
      await part(writer, "alice").set(rec("after"), { ifAbsent: true });
      await until(() => heard.some((e) => "id" in e && e.id === "after"));
      const ids = heard.map((e) => ("id" in e ? e.id : "resync"));
      expect(ids).toEqual(["before", "resync", "missed", "after"]);
    } finally {
      await silence.close();
    }
  });

  it("opens one LISTEN connection per store with watchers, and closes it with the last", async () => {
    const {
      namespace,
      stores: [store],
    } = await stores(1);
    const p = part(store as SessionStore, "alice");
    expect(await listeners(namespace)).toEqual([]);
    const stopA = p.watch(() => {});
    const stopB = part(store as SessionStore, "bob").watch(() => {});
    await until(async () => (await listeners(namespace)).length === 1);
    stopA();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await listeners(namespace)).toHaveLength(1);
    stopB();
    await until(async () => (await listeners(namespace)).length === 0);
    stops.push(p.watch(() => {}));
    await until(async () => (await listeners(namespace)).length === 1);
    await store?.close?.();
    await until(async () => (await listeners(namespace)).length === 0);
  });

  it("with a single pg.Client handed in: no LISTEN, its own writes still heard", async () => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const {
        namespace,
        stores: [store],
      } = await stores(1, { client });
      const p = part(store as SessionStore, "alice");
      const heard = listen(p);
      await p.changes({ limit: 1 });
      await p.set(rec("a"), { ifAbsent: true });
      await until(() => heard.length === 1);
      expect(await listeners(namespace)).toEqual([]);
    } finally {
      for (const stop of stops.splice(0)) stop();
      await client.end();
    }
  });

  it("with a pg.Pool handed in: LISTEN on a connection of its own, with the pool's settings", async () => {
    const pool = new pg.Pool({ connectionString: url, max: 2 });
    try {
      const {
        namespace,
        stores: [writer],
      } = await stores(1);
      const store = postgresStore({ client: pool, table, namespace });
      await store.open?.({ report: (error) => reported.push(error) });
      opened.push(store);
      const heard = listen(part(store, "alice"));
      await until(async () => (await listeners(namespace)).length === 1);
      await part(writer as SessionStore, "alice").set(rec("a"), { ifAbsent: true });
      await until(() => heard.length === 1);
      expect(pool.totalCount).toBeLessThanOrEqual(2);
    } finally {
      for (const stop of stops.splice(0)) stop();
      for (const store of opened.splice(0)) await store.close?.();
      await pool.end();
    }
  });

  it("appends nothing and notifies nobody for a write that fails its condition", async () => {
    const {
      namespace,
      stores: [store],
    } = await stores(1);
    const p = part(store as SessionStore, "alice");
    await p.set(rec("a"), { ifAbsent: true });
    const spy = new pg.Client({ connectionString: url });
    await spy.connect();
    const notes: string[] = [];
    spy.on("notification", (message) => notes.push(message.payload ?? ""));
    await spy.query(`LISTEN "${channelOf(namespace)}"`);
    try {
      expect(await p.set(rec("a"), { ifAbsent: true })).toBe(false);
      expect(await p.set(rec("a", { version: 5 }), { ifVersion: 4 })).toBe(false);
      expect(await p.delete("a", { ifVersion: 3 })).toBe(false);
      expect(await p.delete("none")).toBe(false);
      expect(await part(store as SessionStore, "nobody").clear()).toEqual([]);
      expect(await logRows(namespace)).toBe(1);
      await p.delete("a");
      await until(() => notes.length === 1);
      expect(notes[0]).toMatch(/^[0-9a-f]{32} \d+$/);
      expect(await logRows(namespace)).toBe(2);
    } finally {
      await spy.end();
    }
  });

  it("keeps about maxEntries entries per owner in the table, and drops aged ones in the sweep", async () => {
    const {
      namespace,
      stores: [store],
    } = await stores(1, { changeLog: { maxEntries: 20, maxAge: 300 } });
    const p = part(store as SessionStore, "alice");
    const other = part(store as SessionStore, "bob");
    await other.set(rec("b"), { ifAbsent: true });
    for (let i = 0; i < 100; i++) await p.set(rec(`s${i}`), { ifAbsent: true });
    const kept = await logRows(namespace, "alice");
    expect(kept).toBeGreaterThanOrEqual(20);
    expect(kept).toBeLessThanOrEqual(22);
    expect(await logRows(namespace, "bob")).toBe(1);
    const { next: head } = await p.changes({ limit: 1 });
    await new Promise((resolve) => setTimeout(resolve, 400));
    await store?.purgeExpired(Date.now());
    expect(await logRows(namespace)).toBe(0);
    // A reader at the head lost nothing; one before the dropped entries lost them.
    expect((await p.changes({ cursor: head, limit: 10 })).resync).toBeUndefined();
    await p.set(rec("late"), { ifAbsent: true });
    const page = await p.changes({ cursor: head, limit: 10 });
    expect(page.entries.map((e) => e.id)).toEqual(["late"]);
  });

  it("forgets the floor of an owner idle past maxAge, and its old cursors still resync", async () => {
    const {
      namespace,
      stores: [store],
    } = await stores(1, { changeLog: { maxAge: 200 } });
    const p = part(store as SessionStore, "alice");
    const { next: start } = await p.changes({ limit: 1 });
    await p.set(rec("a"), { ifAbsent: true });
    const floors = async () => {
      const { rows } = await admin.query(
        `SELECT owner FROM "${table}_changes_floor" WHERE namespace = $1 ORDER BY owner`,
        [namespace],
      );
      return rows.map((row) => row.owner as string);
    };
    await new Promise((resolve) => setTimeout(resolve, 300));
    await store?.purgeExpired(Date.now());
    expect(await floors()).toEqual(["/", "alice"]);
    const { next: head } = await p.changes({ limit: 1 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    await store?.purgeExpired(Date.now());
    expect(await floors()).toEqual(["/"]);
    expect((await p.changes({ cursor: start, limit: 10 })).resync).toBe(true);
    expect((await p.changes({ cursor: head, limit: 10 })).resync).toBeUndefined();
    await p.set(rec("b"), { ifAbsent: true });
    expect((await p.changes({ cursor: start, limit: 10 })).resync).toBe(true);
    const page = await p.changes({ cursor: head, limit: 10 });
    expect(page.entries.map((e) => e.id)).toEqual(["b"]);
  });

  it("sweeps many owners' expired records, an `expired` entry each", async () => {
    const {
      namespace,
      stores: [store],
    } = await stores(1);
    const soon = Date.now() + 500;
    const owners = Array.from({ length: 130 }, (_, i) => `o${i}`);
    await Promise.all(
      owners.map((owner) => part(store as SessionStore, owner).set(rec("s", { expiresAt: soon }))),
    );
    await store?.set(rec("unowned", { expiresAt: soon }));
    const swept = await store?.purgeExpired(soon + 1);
    expect(swept?.map((r) => r.id).sort()).toEqual(
      [...owners.map((o) => `${o}/s`), "unowned"].sort(),
    );
    const { rows } = await admin.query(
      `SELECT change, count(*)::int AS n FROM "${table}_changes" WHERE namespace = $1 GROUP BY change ORDER BY change`,
      [namespace],
    );
    expect(rows).toEqual([
      { change: "added", n: 130 },
      { change: "expired", n: 130 },
    ]);
  });

  it("sweeps from two processes while owners write: no deadlock, one `expired` entry per record", async () => {
    const {
      namespace,
      stores: [one, two],
    } = await stores(2);
    const owners = Array.from({ length: 30 }, (_, i) => `o${i}`);
    const soon = Date.now() + 300;
    for (const owner of owners) {
      const p = part(one as SessionStore, owner);
      for (let i = 0; i < 5; i++)
        await p.set(rec(`old${i}`, { expiresAt: soon }), { ifAbsent: true });
    }
    await new Promise((resolve) => setTimeout(resolve, 350));
    const writes = owners.map(async (owner, i) => {
      const p = part((i % 2 ? one : two) as SessionStore, owner);
      for (let n = 0; n < 5; n++) await p.set(rec(`new${n}`), { ifAbsent: true });
    });
    const sweeps = [one, two, one, two].map((store) => store?.purgeExpired(Date.now()));
    const [, swept] = await Promise.all([Promise.all(writes), Promise.all(sweeps)]);
    expect(swept.flatMap((records) => records ?? []).length).toBe(150);
    const { rows } = await admin.query(
      `SELECT change, count(*)::int AS n, count(DISTINCT owner || '/' || id)::int AS ids
       FROM "${table}_changes" WHERE namespace = $1 GROUP BY change ORDER BY change`,
      [namespace],
    );
    expect(rows).toEqual([
      { change: "added", n: 300, ids: 300 },
      { change: "expired", n: 150, ids: 150 },
    ]);
  });

  it("reads an owner's records kept before the log, and logs what it writes to them", async () => {
    const {
      stores: [store],
    } = await stores(1);
    await store?.set(rec(`${encodeURIComponent("a/b")}/old`));
    const p = part(store as SessionStore, "a/b");
    expect((await p.get("old"))?.id).toBe("old");
    expect((await p.list({ limit: 10 })).records.map((r) => r.id)).toEqual(["old"]);
    const { next: head } = await p.changes({ limit: 1 });
    expect(await p.set(rec("old", { version: 2 }), { ifVersion: 1 })).toBe(true);
    const { entries } = await p.changes({ cursor: head, limit: 10 });
    expect(entries.map((e) => [e.change, e.id, e.record?.version])).toEqual([
      ["updated", "old", 2],
    ]);
  });

  it("reads another instance's cursor before its own first call has connected", async () => {
    const {
      namespace,
      stores: [store],
    } = await stores(1);
    const p = part(store as SessionStore, "alice");
    const { next: head } = await p.changes({ limit: 1 });
    await p.set(rec("a"), { ifAbsent: true });
    const fresh = postgresStore({ url, table, namespace });
    opened.push(fresh);
    const page = await part(fresh, "alice").changes({ cursor: head, limit: 10 });
    expect(page.resync).toBeUndefined();
    expect(page.entries.map((e) => e.id)).toEqual(["a"]);
  });

  it("answers `resync` after the root's clear, and for another table's cursors", async () => {
    const {
      namespace,
      stores: [store],
    } = await stores(1);
    const p = part(store as SessionStore, "alice");
    await p.set(rec("a"), { ifAbsent: true });
    const { next } = await p.changes({ limit: 1 });
    const elsewhere = postgresStore({ url, table: `${table}_other`, namespace });
    await elsewhere.open?.({ report: (error) => reported.push(error) });
    try {
      const q = part(elsewhere, "alice");
      expect((await q.changes({ cursor: next, limit: 10 })).resync).toBe(true);
      await store?.clear();
      const after = await p.changes({ cursor: next, limit: 10 });
      expect(after.resync).toBe(true);
      expect((await p.changes({ cursor: after.next, limit: 10 })).resync).toBeUndefined();
    } finally {
      await elsewhere.close?.();
      for (const suffix of ["", "_changes", "_changes_floor"]) {
        await admin.query(`DROP TABLE IF EXISTS "${table}_other${suffix}"`);
      }
    }
  });
});

describe.skipIf(!up)("postgres change log options", () => {
  it("refuses bounds that are not whole numbers from 1: open rejects, nothing is created", async () => {
    for (const changeLog of [
      { maxEntries: 0 },
      { maxAge: -1 },
      { maxAge: 1.5 },
      { maxEntries: Number.NaN },
    ]) {
      const store = postgresStore({ url, table: `${table}_bad`, changeLog });
      await expect(store.open?.({ report: () => {} })).rejects.toMatchObject({
        code: "BACKEND_UNAVAILABLE",
        message: expect.stringMatching(
          /^changeLog\.(maxEntries|maxAge) must be a whole number from 1, got /,
        ),
      });
      await store.close?.();
    }
    const { rows } = await admin.query("SELECT to_regclass($1) AS t", [`"${table}_bad"`]);
    expect(rows[0].t).toBeNull();
  });
});

/** The NOTIFY channel of the run's table and `namespace` (as the store derives it). */
function channelOf(namespace: string): string {
  return logNames(table, namespace).channel;
}

/**
 * A proxy to the server whose `mute()` silences the connections that have sent `LISTEN`: they
 * stay open and carry nothing either way, as after a network drop. Others pass untouched.
 */
async function silencer() {
  const sockets = new Set<Socket>();
  const muted: (() => void)[] = [];
  const server = createServer((client) => {
    const upstream = tcpConnect(services.postgres.port, services.postgres.host);
    let quiet = false;
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("error", () => socket.destroy());
      socket.on("close", () => sockets.delete(socket));
    }
    client.on("data", (chunk: Buffer) => {
      if (!quiet) upstream.write(chunk);
      if (chunk.includes("LISTEN ")) muted.push(() => (quiet = true));
    });
    upstream.on("data", (chunk: Buffer) => {
      if (!quiet) client.write(chunk);
    });
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    mute: () => {
      for (const silence of muted.splice(0)) silence();
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** Waits until `done()` holds (a few seconds at most). */
async function until(done: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error("not reached in time");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
