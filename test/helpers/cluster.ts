// The local Redis Cluster the Cluster tests talk to (scripts/redis-cluster.sh starts it), and what
// to do when there is none: skip that file with a warning, unless REQUIRE_SERVICES=1 (CI), where
// the tests run anyway and fail, as for the other services (test/helpers/services.ts).
import { readFileSync } from "node:fs";
import type { RedisClusterNode } from "../../src/stores/redis/client.ts";
import { servicesRequired, serviceUp } from "./services.ts";

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
