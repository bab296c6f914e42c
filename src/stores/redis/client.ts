// The Redis store's connection: one ioredis `Redis` (standalone), or an ioredis `Cluster` when the
// options name cluster nodes, both with the same timeouts and retries.
import type { Cluster, ClusterOptions, Redis, RedisOptions } from "ioredis";
import { BackendError } from "../../errors.ts";
import { driverClass, driverError } from "../driver.ts";

/** One node of a Redis Cluster to start from; the client learns the others from it. */
export interface RedisClusterNode {
  /** Its address, as the cluster announces it (`CLUSTER NODES`). */
  readonly host: string;
  /** Its client port (the cluster bus is this plus 10000). */
  readonly port: number;
}

/**
 * The nodes of a Redis Cluster: a list of `{ host, port }`, or one string of comma-separated
 * `redis://[[user]:password@]host:port` (or `rediss://`, or bare `host:port`) entries, as an
 * environment variable would hold them. A password, user or `rediss://` in the first URL applies
 * to every node.
 */
export type RedisClusterNodes = readonly RedisClusterNode[] | string;

/** The options `createClient` reads (those of `redisStore`). */
export interface ConnectionOptions {
  readonly url?: string | undefined;
  readonly host?: string | undefined;
  readonly port?: number | undefined;
  readonly cluster?: RedisClusterNodes | undefined;
  readonly timeout?: number | undefined;
}

/** What `createClient` makes: an ioredis `Redis`, or a `Cluster` with `cluster`. */
export type OwnClient = Redis | Cluster;

/** How long (ms) connecting or one command may take, by default. */
const DEFAULT_TIMEOUT = 5000;
/** Reconnection attempts come this much later each time (ms), up to `MAX_RETRY_DELAY`. */
const RETRY_STEP = 100;
const MAX_RETRY_DELAY = 1000;
/** The delay before reconnection attempt `times` (from 1), for every connection the store opens. */
export const retryStrategy = (times: number): number =>
  Math.min(times * RETRY_STEP, MAX_RETRY_DELAY);

/**
 * A client for `options`, not yet connected (`lazyConnect`: the store's `open` connects): a
 * `Cluster` when `options.cluster` names nodes, else a `Redis` at `url` or `host`/`port`.
 * Connecting and each command time out after `timeout` ms. While Redis is down, a call waits for
 * one reconnection attempt (at most a second apart) and then rejects, rather than queueing
 * forever; reconnecting goes on until it is back.
 */
export async function createClient(options: ConnectionOptions): Promise<OwnClient> {
  const timeout = options.timeout ?? DEFAULT_TIMEOUT;
  const settings: RedisOptions = {
    connectTimeout: timeout,
    commandTimeout: timeout,
    maxRetriesPerRequest: 1,
    // The commands of one event-loop turn go to Redis in one write (as node-redis does), not one
    // socket write each: under concurrent requests, the write syscalls were the largest cost of
    // a read (bench:sessions, express-session store 0.85x -> 0.98x of connect-redis).
    enableAutoPipelining: true,
  };
  const client =
    options.cluster !== undefined
      ? await createCluster(options, settings)
      : await createRedis(options, settings);
  // Each failed reconnection emits `error`; the calls that fail meanwhile say why, and an
  // unheard `error` would be logged by ioredis on every attempt.
  client.on("error", () => {});
  return client;
}

async function createRedis(options: ConnectionOptions, settings: RedisOptions): Promise<Redis> {
  const { Redis } = await loadIoredis();
  const own: RedisOptions = { ...settings, lazyConnect: true, retryStrategy };
  return options.url
    ? new Redis(options.url, own)
    : new Redis({ ...own, host: options.host ?? "localhost", port: options.port ?? 6379 });
}

async function createCluster(options: ConnectionOptions, settings: RedisOptions): Promise<Cluster> {
  if (options.url !== undefined || options.host !== undefined || options.port !== undefined) {
    throw new BackendError("redis: give either cluster or url/host/port, not both");
  }
  const { nodes, auth } = clusterNodes(options.cluster ?? "");
  const { Cluster } = await loadIoredis();
  const clusterOptions: ClusterOptions = {
    lazyConnect: true,
    clusterRetryStrategy: retryStrategy,
    // A node that closed is reconnected as the single client would be, not only after a MOVED.
    clusterNodeRetryStrategy: retryStrategy,
    slotsRefreshTimeout: options.timeout ?? DEFAULT_TIMEOUT,
    redisOptions: { ...settings, ...auth },
  };
  return new Cluster([...nodes], clusterOptions);
}

/** What a cluster URL says about every node: its credentials, and TLS for `rediss://`. */
type NodeAuth = Pick<RedisOptions, "username" | "password" | "tls">;

/**
 * `nodes` as a list, and the credentials the first URL holds. Throws a `BackendError` for an
 * empty list or an entry without a host and a port (1 to 65535).
 */
export function clusterNodes(nodes: RedisClusterNodes): {
  nodes: readonly RedisClusterNode[];
  auth: NodeAuth;
} {
  const entries = typeof nodes === "string" ? nodes.split(",").map((entry) => entry.trim()) : [];
  const list = typeof nodes === "string" ? entries.filter(Boolean).map(parseNode) : nodes;
  if (list.length === 0) throw new BackendError("redis: cluster names no nodes");
  for (const node of list) checkNode(node);
  return { nodes: list, auth: entries[0] ? authOf(entries[0]) : {} };
}

/** `redis://…@host:port`, `rediss://host:port` or `host:port` as a node. */
function parseNode(entry: string): RedisClusterNode {
  const url = urlOf(entry);
  return { host: url.hostname.replace(/^\[(.*)\]$/, "$1"), port: Number(url.port) };
}

function authOf(entry: string): NodeAuth {
  const url = urlOf(entry);
  const auth: NodeAuth = {};
  if (url.username) auth.username = decodeURIComponent(url.username);
  if (url.password) auth.password = decodeURIComponent(url.password);
  if (url.protocol === "rediss:") auth.tls = {};
  return auth;
}

function urlOf(entry: string): URL {
  const text = /^[a-z]+:\/\//i.test(entry) ? entry : `redis://${entry}`;
  const url = URL.canParse(text) ? new URL(text) : undefined;
  if (url?.protocol !== "redis:" && url?.protocol !== "rediss:") {
    throw new BackendError(`redis: cluster node ${JSON.stringify(entry)} is not host:port`);
  }
  return url;
}

function checkNode(node: RedisClusterNode): void {
  const { host, port } = node;
  if (typeof host === "string" && host !== "" && Number.isInteger(port) && port > 0 && port < 65536)
    return;
  throw new BackendError(`redis: cluster node ${JSON.stringify(node)} needs a host and a port`);
}

/** ioredis, on first use: the name written out inside `try` (see driverError). */
export async function loadIoredis(): Promise<{ Redis: typeof Redis; Cluster: typeof Cluster }> {
  try {
    const ioredis = await import("ioredis");
    return {
      Redis: driverClass("redis", "ioredis", ioredis.Redis),
      Cluster: driverClass("redis", "ioredis", ioredis.Cluster),
    };
  } catch (error) {
    throw driverError("redis", "ioredis", error);
  }
}

/** What `closeClient` calls: an ioredis `Redis` and a `Cluster` have it. */
export interface Closable {
  readonly status: string;
  quit(): Promise<unknown>;
  disconnect(): void;
}

/**
 * Closes a client the store made: `QUIT` once it is ready (what was sent is answered first), else
 * drops the connection. A `Cluster` stays `ready` while one of its nodes is down, and its `quit`
 * then rejects (that node's `QUIT` fails) with the other connections still open: they are dropped
 * too, and the close resolves, as a close must when a server is away.
 */
export async function closeClient(client: Closable): Promise<void> {
  if (client.status !== "ready") return client.disconnect();
  try {
    await client.quit();
  } catch {
    client.disconnect();
  }
}
