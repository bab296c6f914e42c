// The local Redis Cluster the Cluster tests talk to (scripts/redis-cluster.sh starts it), and what
// to do when there is none: skip that file with a warning, unless REQUIRE_SERVICES=1 (CI), where
// the tests run anyway and fail, as for the other services (test/helpers/services.ts).
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { RedisClusterNode } from "../../src/stores/redis/client.ts";
import { servicesRequired, serviceUp } from "./services.ts";

const exec = promisify(execFile);

/** Where scripts/redis-cluster.sh writes the nodes of the cluster it started. */
export const CLUSTER_NODES_FILE = `${process.env.REDIS_CLUSTER_DIR ?? "/tmp/sessionmanager-redis-cluster"}/nodes`;

/**
 * The nodes of the cluster: REDIS_CLUSTER_NODES (`host:port,host:port,…`), else the file the
 * script writes, else none.
 */
export function clusterNodes(): RedisClusterNode[] {
  let line = process.env.REDIS_CLUSTER_NODES;
  if (line === undefined) {
    try {
      line = readFileSync(CLUSTER_NODES_FILE, "utf8");
    } catch {
      return [];
    }
  }
  return line
    .split(",")
    .map((entry) => entry.trim().replace(/^rediss?:\/\//, ""))
    .filter(Boolean)
    .map((entry) => {
      const at = entry.lastIndexOf(":");
      return { host: entry.slice(0, at), port: Number(entry.slice(at + 1)) };
    });
}

/**
 * The cluster's nodes when the tests should run: when every node accepts connections, or when
 * REQUIRE_SERVICES=1 (then they run and fail); otherwise `undefined`, with a warning. Use at the
 * top level of a test file: `const nodes = await requireCluster(); describe.skipIf(!nodes)(…)`.
 */
export async function requireCluster(): Promise<RedisClusterNode[] | undefined> {
  const nodes = clusterNodes();
  const up =
    nodes.length > 0 &&
    (await Promise.all(nodes.map((n) => serviceUp(n.host, n.port)))).every(Boolean);
  if (up) return nodes;
  const where =
    nodes.length === 0
      ? `no nodes (REDIS_CLUSTER_NODES unset and no ${CLUSTER_NODES_FILE})`
      : `not every node of ${nodes.map((n) => `${n.host}:${n.port}`).join(",")} answers`;
  if (servicesRequired) {
    console.error(
      `[vitest] ERROR: REQUIRE_SERVICES=1 and the Redis Cluster is not reachable: ${where}`,
    );
    return nodes.length > 0 ? nodes : [{ host: "127.0.0.1", port: 7101 }];
  }
  console.warn(
    `[vitest] WARNING: Redis Cluster not reachable (${where}): its integration tests skipped ` +
      "(start it with scripts/redis-cluster.sh start, or set REQUIRE_SERVICES=1 to make this a failure)",
  );
  return undefined;
}

/** A cluster a test file started for itself (it may kill its nodes), and how to end it. */
export interface OwnCluster {
  readonly nodes: RedisClusterNode[];
  /** Kills the node on `port` (SIGKILL, by its pid) and starts it again. */
  restart(port: number): Promise<void>;
  /** Shuts its nodes down and removes its directory. */
  stop(): Promise<void>;
}

const script = fileURLToPath(new URL("../../scripts/redis-cluster.sh", import.meta.url));

/**
 * Starts a three-master cluster of the caller's own through scripts/redis-cluster.sh, in a
 * directory of its own (so `stop` and `restart` touch its nodes only), on the first free ports
 * from 7101. Takes a few seconds.
 */
export async function startOwnCluster(): Promise<OwnCluster> {
  const dir = mkdtempSync(join(tmpdir(), "sessionmanager-own-cluster-"));
  const run = async (...args: string[]) =>
    (
      await exec("bash", [script, ...args], {
        env: { ...process.env, REDIS_CLUSTER_DIR: dir, REDIS_CLUSTER_PORTS: "" },
      })
    ).stdout.trim();
  const line = await run("start");
  const nodes = line.split(",").map((entry) => {
    const at = entry.lastIndexOf(":");
    return { host: entry.slice(0, at), port: Number(entry.slice(at + 1)) };
  });
  return {
    nodes,
    restart: async (port) => void (await run("restart", String(port))),
    stop: async () => {
      await run("stop");
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
