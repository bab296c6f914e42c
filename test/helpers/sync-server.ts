// The real session server for the sync tests: in process (its `fetch` handed to the client, no
// sockets) or listening on a port that can be closed and opened again over the same store.
import { SignJWT } from "jose";
import {
  createSessionServer,
  type SessionServer,
  type SessionServerOptions,
  serve,
} from "../../src/server/index.ts";
import { memoryStore } from "../../src/stores/memory.ts";
import type { SessionStore } from "../../src/stores/types.ts";

export const SECRET = "a-sync-test-secret-of-32-bytes-or-more";
const key = new TextEncoder().encode(SECRET);
/** Where an in-process server "is": the client needs a URL, `fetch` never resolves it. */
export const IN_PROCESS_URL = "http://sessions.test/api";

/** An HS256 token for `sub`; `expiresIn` in seconds (negative: already expired). */
export async function tokenFor(sub: string, expiresIn = 3600, secret = key): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ sub })
    .setProtectedHeader({ alg: "HS256" })
    .setIssuedAt(now)
    .setExpirationTime(now + expiresIn)
    .sign(secret);
}

/** A well-formed token the server did not sign. */
export function forgedToken(sub: string): Promise<string> {
  return tokenFor(sub, 3600, new TextEncoder().encode("another-secret-that-is-32-bytes-long!!"));
}

/** A server over `store`, answering in process; close it when done. */
export function inProcessServer(
  store: SessionStore = memoryStore(),
  options: Partial<SessionServerOptions> = {},
): {
  server: SessionServer;
  store: SessionStore;
  fetch: typeof fetch;
} {
  const server = createSessionServer({
    backend: store,
    auth: { secret: SECRET },
    basePath: "/api",
    sweepInterval: 0,
    ...options,
  });
  const fetch = ((input: RequestInfo | URL, init?: RequestInit) =>
    server.fetch(new Request(input, init))) as typeof globalThis.fetch;
  return { server, store, fetch };
}

/** A server listening on 127.0.0.1 that can be stopped and started again on its port. */
export class ListeningServer {
  url = "";
  private port = 0;
  private running: { close(): Promise<void> } | undefined;

  /** `backend` and its options: a store object kept across restarts, or a named backend. */
  constructor(
    private readonly options: Partial<SessionServerOptions> = { backend: memoryStore() },
  ) {}

  async start(): Promise<this> {
    const running = await serve({
      backend: memoryStore(),
      ...this.options,
      auth: { secret: SECRET },
      sweepInterval: 0,
      port: this.port,
    });
    this.running = running;
    this.url = running.url;
    this.port = Number(new URL(running.url).port);
    return this;
  }

  async stop(): Promise<void> {
    await this.running?.close();
    this.running = undefined;
  }
}

/** Resolves once `check` holds, polling; rejects after `timeout` ms. */
export async function until(check: () => unknown, timeout = 5000): Promise<void> {
  const deadline = Date.now() + timeout;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`condition still false after ${timeout} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** One write the server answered, as the network saw it. */
export interface LoggedWrite {
  method: string;
  id: string;
  ifMatch: string | null;
  status: number;
}

/**
 * A `fetch` that can be cut off (every request fails as a dropped connection would) and that
 * logs the writes the server answered, in the order it answered them.
 */
export class Network {
  online = true;
  requests = 0;
  readonly writes: LoggedWrite[] = [];

  constructor(private readonly base: typeof globalThis.fetch = globalThis.fetch) {}

  readonly fetch: typeof globalThis.fetch = async (input, init) => {
    this.requests++;
    if (!this.online) throw new TypeError("fetch failed: network is down");
    const request = new Request(input, init);
    const response = await this.base(request);
    const match = /\/sessions\/([^/?]+)$/.exec(new URL(request.url).pathname);
    if (match && request.method !== "GET") {
      this.writes.push({
        method: request.method,
        id: decodeURIComponent(match[1] as string),
        ifMatch: request.headers.get("if-match"),
        status: response.status,
      });
    }
    return response;
  };

  /** The writes of `id` the server took (2xx), as `METHOD@if-match`. */
  taken(id: string): string[] {
    return this.writes
      .filter((w) => w.id === id && w.status < 300)
      .map((w) => `${w.method}@${w.ifMatch ?? "*"}`);
  }
}

/**
 * A real server in another process whose clock is `skewMs` off (its `Date` is shifted), since
 * the two sides of one process share a clock. The server's code is bundled with esbuild first.
 */
export async function skewedServer(skewMs: number): Promise<{ url: string; close(): void }> {
  const { build } = await import("esbuild");
  const { spawn } = await import("node:child_process");
  const { rm } = await import("node:fs/promises");
  const root = new URL("../../", import.meta.url).pathname;
  const bundle = `${root}node_modules/.cache/sessionmanager-sync-test/server-${process.pid}.mjs`;
  await build({
    stdin: {
      contents: `export { serve } from "./src/server/index.ts";
        export { memoryStore } from "./src/stores/memory.ts";`,
      resolveDir: root,
      loader: "ts",
    },
    bundle: true,
    platform: "node",
    format: "esm",
    packages: "external",
    outfile: bundle,
    logLevel: "silent",
  });
  const script = `
    const Real = Date;
    const skew = Number(process.env.SKEW_MS);
    globalThis.Date = class extends Real {
      constructor(...args) { super(...(args.length ? args : [Real.now() + skew])); }
      static now() { return Real.now() + skew; }
    };
    const { serve, memoryStore } = await import(process.env.BUNDLE);
    const server = await serve({
      backend: memoryStore(), auth: { secret: process.env.SECRET }, port: 0, sweepInterval: 0,
    });
    console.log(server.url);`;
  const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
    env: { ...process.env, SKEW_MS: String(skewMs), BUNDLE: bundle, SECRET },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`the skewed server exited with ${code}`)));
    child.stdout.once("data", (chunk: Buffer) => resolve(chunk.toString().trim()));
  }).finally(() => rm(bundle, { force: true })); // loaded by then (or never will be)
  return { url, close: () => void child.kill() };
}
