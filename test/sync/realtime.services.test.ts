// Realtime end to end, as deployed: two server processes on one Redis, one Redis Cluster and one
// PostgreSQL; a manager syncing with the first adds, touches, updates and removes, and a manager
// syncing with the second (polling every ten minutes) hears each over its event stream; a
// manager of another owner hears nothing; the second process restarts on its port and the
// stream resumes without losing a change made while it was down. Waits have deadlines (a few
// seconds); latency belongs to `npm run bench:realtime`.
import { afterAll, afterEach, beforeAll, describe, it } from "vitest";
import { type Session, SessionManager } from "../../src/index.ts";
import { memoryStore } from "../../src/stores/memory.ts";
import type { RemoteOptions } from "../../src/sync/options.ts";
import { remoteStore } from "../../src/sync/remote.ts";
import { replicaStore } from "../../src/sync/replica.ts";
import { requireCluster } from "../helpers/cluster.ts";
import { type ServerProcess, startServerProcess } from "../helpers/server-process.ts";
import { freePort, requireServices, runId, services } from "../helpers/services.ts";
import { SECRET, tokenFor, until } from "../helpers/sync-server.ts";

const up = await requireServices();
const nodes = await requireCluster();

const backends = [
  {
    name: "redis",
    up: up.redis,
    options: { backend: "redis", url: `redis://${services.redis.host}:${services.redis.port}` },
  },
  { name: "redis cluster", up: nodes !== undefined, options: { backend: "redis", cluster: nodes } },
  {
    name: "postgres",
    up: up.postgres,
    options: { backend: "postgres", url: services.postgres.url },
  },
];

const closing: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closing.splice(0).map((close) => close()));
});

/** A manager syncing with `url` as `owner` (a replica, or the remote store), polling every 10 min. */
function manager(kind: "replica" | "remote", url: string, owner: string) {
  const options: RemoteOptions = { url, token: () => tokenFor(owner), pullInterval: "10m" };
  const backend = kind === "replica" ? replicaStore(memoryStore(), options) : remoteStore(options);
  const sm = new SessionManager<unknown>({ backend, warnBefore: 0 });
  const heard: string[] = [];
  const log = (event: string) => (s: Session<unknown>) =>
    heard.push(`${event} ${s.id} ${JSON.stringify(s.data)}`);
  for (const event of ["added", "touched", "updated", "removed"] as const) sm.on(event, log(event));
  closing.push(() => sm.close());
  return { sm, heard };
}

function hears(heard: string[], entry: string, timeout = 5000): Promise<void> {
  return until(() => heard.includes(entry), timeout).catch(() => {
    throw new Error(`not heard: ${entry}; heard ${JSON.stringify(heard)}`);
  });
}

for (const backend of backends) {
  describe.skipIf(!backend.up)(
    `a change through one server process reaches a client of another (${backend.name})`,
    () => {
      let one: ServerProcess;
      let two: ServerProcess;
      let twoPort: number;
      let options: Record<string, unknown>;
      beforeAll(async () => {
        const id = runId().replace(/\W/g, "_");
        options = {
          ...backend.options,
          namespace: `rt-${id}`,
          auth: { secret: SECRET },
          ...(backend.name === "postgres" && { table: `rt_sync_${id}` }),
        };
        twoPort = await freePort();
        [one, two] = await Promise.all([
          startServerProcess(options),
          startServerProcess({ ...options, port: twoPort }),
        ]);
      }, 30_000);
      afterAll(async () => {
        await Promise.all([one?.stop(), two?.stop()]);
      });

      for (const kind of ["replica", "remote"] as const) {
        it(`${kind}: hears add, touch, update and remove made through the other process; another owner hears nothing`, async () => {
          const owner = `${kind}-${runId()}`;
          const writer = manager(kind, one.url, owner);
          const reader = manager(kind, two.url, owner);
          const stranger = manager(kind, two.url, `${owner}-other`);
          await reader.sm.list(); // started: the stream opens
          await stranger.sm.list();
          const id = `s-${kind}`;
          await writer.sm.add(id, { data: { user: "ada" }, ttl: "1h" });
          await hears(reader.heard, `added ${id} {"user":"ada"}`);
          await writer.sm.touch(id);
          await hears(reader.heard, `touched ${id} {"user":"ada"}`);
          await writer.sm.update(id, { user: "ada", role: "admin" });
          await hears(reader.heard, `updated ${id} {"user":"ada","role":"admin"}`);
          await writer.sm.remove(id);
          await hears(reader.heard, `removed ${id} {"user":"ada","role":"admin"}`);
          // Wait a moment more for anything that should not come.
          await new Promise((resolve) => setTimeout(resolve, 300));
          if (stranger.heard.length > 0) throw new Error(`another owner heard ${stranger.heard}`);
        });
      }

      it("resumes after the other process restarts, with the change made while it was down", async () => {
        const owner = `restart-${runId()}`;
        const writer = manager("remote", one.url, owner);
        const reader = manager("replica", two.url, owner);
        await reader.sm.list();
        const id = "restart";
        await writer.sm.add(id, { data: { n: 1 }, ttl: "1h" });
        await hears(reader.heard, `added ${id} {"n":1}`);
        await two.stop();
        await writer.sm.update(id, { n: 2 });
        two = await startServerProcess({ ...options, port: twoPort });
        // The client reconnects with backoff (1 s, doubling, with jitter) and catches up.
        await hears(reader.heard, `updated ${id} {"n":2}`, 20_000);
      }, 30_000);
    },
  );
}
