// The services the integration tests talk to (PostgreSQL, Redis, Memcached), and what to do when
// one is missing: skip that file with a warning, unless REQUIRE_SERVICES=1 (CI), where the tests
// run anyway and fail. Addresses can be moved with environment variables.
import { createServer, type Server, type Socket, connect as tcpConnect } from "node:net";

const env = process.env;

/** Where each service is expected. */
export const services = {
  postgres: {
    host: env.POSTGRES_HOST ?? "127.0.0.1",
    port: Number(env.POSTGRES_PORT ?? 5432),
    url:
      env.DATABASE_URL ??
      `postgres://${env.POSTGRES_USER ?? "postgres"}@${env.POSTGRES_HOST ?? "127.0.0.1"}:${env.POSTGRES_PORT ?? 5432}/${env.POSTGRES_DB ?? "test"}`,
  },
  redis: { host: env.REDIS_HOST ?? "127.0.0.1", port: Number(env.REDIS_PORT ?? 6379) },
  memcached: { host: env.MEMCACHED_HOST ?? "127.0.0.1", port: Number(env.MEMCACHED_PORT ?? 11211) },
} as const;

/** With `REQUIRE_SERVICES=1` (CI) a missing service fails its tests instead of skipping them. */
export const servicesRequired: boolean = env.REQUIRE_SERVICES === "1";

/** Whether something accepts TCP connections at `host:port` within `timeout` ms. */
export function serviceUp(host: string, port: number, timeout = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tcpConnect({ host, port });
    const done = (up: boolean) => {
      socket.destroy();
      resolve(up);
    };
    socket.setTimeout(timeout, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

/**
 * Whether the tests of `name` should run: `true` when it is up, or when REQUIRE_SERVICES=1 (then
 * they run and fail); otherwise `false`, with a warning. Use at the top level of a test file:
 * `const up = await requireService("redis"); describe.skipIf(!up)(…)`.
 */
export async function requireService(name: keyof typeof services): Promise<boolean> {
  const { host, port } = services[name];
  if (await serviceUp(host, port)) return true;
  if (servicesRequired) {
    console.error(
      `[vitest] ERROR: REQUIRE_SERVICES=1 and ${name} is not reachable at ${host}:${port}`,
    );
    return true;
  }
  console.warn(
    `[vitest] WARNING: ${name} not reachable at ${host}:${port}: its integration tests skipped ` +
      "(start it, or set REQUIRE_SERVICES=1 to make this a failure)",
  );
  return false;
}

/** `requireService` for every service at once: `const up = await requireServices(); up.redis`. */
export async function requireServices(): Promise<Record<keyof typeof services, boolean>> {
  const [postgres, redis, memcached] = await Promise.all([
    requireService("postgres"),
    requireService("redis"),
    requireService("memcached"),
  ]);
  return { postgres, redis, memcached };
}

/** A name no other run uses: for namespaces, key prefixes and tables of one test run. */
export function runId(): string {
  return `t${process.pid}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 6)}`;
}

/** A TCP port nothing listens on (now). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * A TCP proxy on a local port to `host:port`, to take a service away and bring it back:
 * `stop()` closes the port and cuts every connection (as a crashed server would), `start()`
 * listens on the same port again.
 */
export interface Outage {
  readonly port: number;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export async function proxy(host: string, port: number): Promise<Outage> {
  const listenPort = await freePort();
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
  };
  const outage: Outage = {
    port: listenPort,
    async start() {
      server = createServer((client) => {
        const upstream = tcpConnect({ host, port });
        track(client);
        track(upstream);
        client.pipe(upstream).pipe(client);
        client.on("close", () => upstream.destroy());
        upstream.on("close", () => client.destroy());
      });
      await new Promise<void>((resolve) => server?.listen(listenPort, "127.0.0.1", resolve));
    },
    async stop() {
      const closing = new Promise((resolve) => server?.close(resolve));
      for (const socket of sockets) socket.destroy();
      await closing;
      server = undefined;
    },
  };
  await outage.start();
  return outage;
}

/** Calls `fn` until it resolves, for up to `timeout` ms; rejects with its last error. */
export async function eventually<T>(fn: () => Promise<T>, timeout = 10_000): Promise<T> {
  const deadline = Date.now() + timeout;
  for (;;) {
    try {
      return await fn();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** How long `promise` takes to settle, and whether it rejected. */
export async function timed(promise: Promise<unknown>): Promise<{ ms: number; error?: unknown }> {
  const start = Date.now();
  try {
    await promise;
    return { ms: Date.now() - start };
  } catch (error) {
    return { ms: Date.now() - start, error };
  }
}
