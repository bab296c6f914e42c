// End to end on every server-side backend: a real server on a real port over SQLite, a file,
// PostgreSQL, Redis and Memcached; replica clients with the same and with different tokens; a
// server restarted mid-test (a new process's store: a new connection to the same data); wrong,
// expired and other owners' tokens; and the network cut while a client keeps working.
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { AuthError, type Session, SessionManager } from "../../src/node.ts";
import type { SessionServerOptions } from "../../src/server/index.ts";
import { memoryStore } from "../../src/stores/memory.ts";
import { remoteStore } from "../../src/sync/remote.ts";
import { replicaStore } from "../../src/sync/replica.ts";
import { requireServices, services } from "../helpers/services.ts";
import { forgedToken, ListeningServer, tokenFor, until } from "../helpers/sync-server.ts";
import { tempDir } from "../helpers/temp.ts";

const up = await requireServices();
const dir = await tempDir("sm-sync-");

type Backend = Pick<SessionServerOptions, "backend" | "path" | "url">;
const run = `${process.pid}x${Date.now()}`;
const backends: [string, boolean, () => Backend][] = [
  ["sqlite", true, () => ({ backend: "sqlite", path: join(dir, "sessions.db") })],
  ["file", true, () => ({ backend: "file", path: join(dir, "sessions.json") })],
  ["postgres", up.postgres, () => ({ backend: "postgres", url: services.postgres.url })],
  [
    "redis",
    up.redis,
    () => ({ backend: "redis", url: `redis://${services.redis.host}:${services.redis.port}` }),
  ],
  [
    "memcached",
    up.memcached,
    () => ({ backend: "memcached", url: `${services.memcached.host}:${services.memcached.port}` }),
  ],
];

const closing: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closing.splice(0).reverse()) await close();
});

function client(url: string, token: string | (() => Promise<string>)) {
  const store = replicaStore(memoryStore(), {
    url,
    token,
    pullInterval: "1h",
    retry: 0,
    live: false,
  });
  const sm = new SessionManager<{ n: number }>({ backend: store, warnBefore: 0 });
  const errors: Error[] = [];
  sm.on("error", (error) => errors.push(error));
  closing.push(() => sm.close());
  return { sm, store, errors };
}

const state = (sessions: Session<unknown>[]) =>
  sessions
    .map(({ id, data, version }) => ({ id, data, version }))
    .sort((a, b) => a.id.localeCompare(b.id));

describe.each(backends)("sync end to end on %s", (name, up, backend) => {
  it.skipIf(!up)(
    "two clients of one owner agree, another owner sees nothing, a restart loses nothing, and a cut network drains",
    async () => {
      const server = await new ListeningServer({ ...backend(), namespace: `sync${run}` }).start();
      closing.push(() => server.stop());
      const owner = `${name}-${run}`;
      const token = await tokenFor(owner);
      const a = client(server.url, token);
      const b = client(server.url, token);
      const other = client(server.url, await tokenFor(`${owner}-other`));

      await a.sm.add("s1", { data: { n: 1 }, ttl: "1h" });
      await a.sm.add("s2", { data: { n: 1 }, ttl: "1h" });
      expect(await a.store.sync()).toBe(true);
      expect(await b.store.sync()).toBe(true);
      expect(state(await b.sm.list())).toEqual(state(await a.sm.list()));
      await b.sm.update("s1", { n: 2 });
      await b.store.sync();
      await a.store.sync();
      expect((await a.sm.get("s1"))?.data).toEqual({ n: 2 });
      // Another owner with the same ids sees nothing of these, and its own s1 is its own.
      await other.store.sync();
      expect(await other.sm.list()).toEqual([]);
      await other.sm.add("s1", { data: { n: 100 } });
      expect(await other.store.sync()).toBe(true);

      // The server restarts (a new store, a new connection): nothing is lost.
      await server.stop();
      await server.start();
      const fresh = client(server.url, token);
      await fresh.store.sync();
      expect(state(await fresh.sm.list())).toEqual(state(await a.sm.list()));

      // The network is cut while a keeps working; back, its queue drains and all agree.
      await server.stop();
      await a.sm.update("s2", { n: 3 });
      await a.sm.add("s3", { data: { n: 1 } });
      await a.sm.remove("s1");
      expect(await a.store.sync()).toBe(false);
      await server.start();
      await until(() => a.store.sync(), 10_000);
      await b.store.sync();
      const agreed = state(await a.sm.list());
      expect(agreed.map((s) => s.id)).toEqual(["s2", "s3"]);
      expect(state(await b.sm.list())).toEqual(agreed);
      expect((await b.sm.get("s2"))?.data).toEqual({ n: 3 });
      await other.store.sync();
      expect(state(await other.sm.list())).toEqual([{ id: "s1", data: { n: 100 }, version: 1 }]);
      expect([...a.errors, ...b.errors, ...other.errors]).toEqual([]);
    },
    40_000,
  );

  it.skipIf(!up)(
    "pages lists past 100 sessions to the remote store and the replica, and holds the quota",
    async () => {
      const server = await new ListeningServer({
        ...backend(),
        namespace: `sync${run}`,
        maxSessionsPerOwner: 230,
      }).start();
      closing.push(() => server.stop());
      const token = await tokenFor(`${name}-paged-${run}`);
      const writer = new SessionManager({
        backend: remoteStore({ url: server.url, token, live: false }),
      });
      closing.push(() => writer.close());
      const ids = Array.from({ length: 230 }, (_, i) => `p${String(i).padStart(3, "0")}`);
      for (let i = 0; i < ids.length; i += 10) {
        await Promise.all(ids.slice(i, i + 10).map((id) => writer.add(id, { data: id })));
      }
      await expect(writer.add("one-more", { data: 0 })).rejects.toMatchObject({
        code: "QUOTA_EXCEEDED",
      });
      const reader = new SessionManager({
        backend: remoteStore({ url: server.url, token, live: false }),
      });
      closing.push(() => reader.close());
      expect((await reader.list()).map((s) => s.id).sort()).toEqual(ids);
      const replica = client(server.url, token);
      expect(await replica.store.sync()).toBe(true);
      expect((await replica.sm.list()).length).toBe(230);
      await writer.clear();
    },
    60_000,
  );

  it.skipIf(!up)(
    "refuses wrong and expired tokens, and hides other owners' sessions",
    async () => {
      const server = await new ListeningServer({ ...backend(), namespace: `sync${run}` }).start();
      closing.push(() => server.stop());
      const owner = `${name}-auth-${run}`;
      const good = new SessionManager({
        backend: remoteStore({ url: server.url, token: await tokenFor(owner), live: false }),
      });
      closing.push(() => good.close());
      await good.add("mine", { data: 1 });
      for (const token of [await forgedToken(owner), await tokenFor(owner, -60)]) {
        const bad = new SessionManager({
          backend: remoteStore({ url: server.url, token, live: false }),
        });
        bad.on("error", () => {});
        closing.push(() => bad.close());
        await expect(bad.get("mine")).rejects.toBeInstanceOf(AuthError);
        await expect(bad.remove("mine")).rejects.toBeInstanceOf(AuthError);
      }
      const stranger = new SessionManager({
        backend: remoteStore({ url: server.url, token: await tokenFor(`${owner}-x`), live: false }),
      });
      closing.push(() => stranger.close());
      expect(await stranger.get("mine")).toBeUndefined(); // a 404: not yours, not there
      expect(await stranger.remove("mine")).toBe(false);
      expect((await good.get("mine"))?.data).toBe(1); // nothing changed
      await good.clear();
    },
    20_000,
  );
});
