import { messageOf } from "../errors.ts";
import { unref } from "../timers.ts";
import type { SessionServerOptions } from "./options.ts";
import { createSessionServer } from "./server.ts";

/** Options of `serve`: the server's, plus where to listen. */
export interface ServeOptions extends SessionServerOptions {
  /** Default 8787; `0` picks a free port (see `url`). */
  port?: number;
  /** Default `"127.0.0.1"` (this machine only); `"0.0.0.0"` listens on every interface. */
  host?: string;
}

/** A listening server. */
export interface RunningServer {
  /** Where it listens, such as `http://127.0.0.1:8787`. */
  readonly url: string;
  /** Stops accepting connections, finishes the requests under way, closes the store. */
  close(): Promise<void>;
}

const DEFAULT_PORT = 8787;
const DEFAULT_HOST = "127.0.0.1";
// After this long, connections still open at close (a client that never finishes) are cut.
const CLOSE_GRACE_MS = 10_000;

/**
 * Serves `createSessionServer(options)` over HTTP in Node (with `@hono/node-server`).
 * `port` and `host` name where to listen; `port` and `host` of a backend go in its `url`.
 * @example
 * const server = await serve({ backend: "sqlite", path: "sessions.db", auth: { secret }, port: 8787 });
 * process.once("SIGTERM", () => server.close());
 */
export async function serve(options: ServeOptions): Promise<RunningServer> {
  const { port = DEFAULT_PORT, host = DEFAULT_HOST, ...serverOptions } = options;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new TypeError(`port must be an integer from 0 to 65535, got ${String(port)}`);
  }
  const sessionServer = createSessionServer(serverOptions);
  const { createAdaptorServer } = await loadNodeServer();
  const server = createAdaptorServer({ fetch: sessionServer.fetch, hostname: host });
  const active = trackResponses(server);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (error) {
    await sessionServer.close();
    throw error;
  }
  const address = server.address();
  const listening = typeof address === "object" && address ? address.port : port;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${listening}`,
    close() {
      // Together: the session server ends its event streams at once, which are responses the
      // HTTP server would otherwise wait for until its grace period cuts them.
      closing ??= Promise.all([closeHttp(server, active), sessionServer.close()]).then(() => {});
      return closing;
    },
  };
}

type NodeAdapter = typeof import("@hono/node-server");
type NodeServer = ReturnType<NodeAdapter["createAdaptorServer"]>;

/**
 * Node's HTTP adapter, loaded when `serve` is called. `#node-server` (package.json `imports`) is
 * `@hono/node-server` under the `node` condition and nothing elsewhere: a worker or edge bundle
 * of the server entry, which mounts `createSessionServer(options).fetch` and never calls `serve`,
 * holds no Node code, while Node bundlers and file tracers follow it to the package. Inside
 * `try`, so that bundlers for those runtimes leave the unresolved import alone.
 */
async function loadNodeServer(): Promise<NodeAdapter> {
  try {
    return await import("#node-server");
  } catch (cause) {
    const reason = messageOf(cause);
    throw new Error(
      `serve could not load Node's HTTP adapter (@hono/node-server: ${reason}); serve runs in Node, Bun and Deno, elsewhere mount createSessionServer(options).fetch`,
      { cause },
    );
  }
}

/** The part of Node's `ServerResponse` that closing needs. */
interface NodeResponse {
  readonly headersSent: boolean;
  setHeader(name: string, value: string): unknown;
  once(event: "close" | "finish", listener: () => void): unknown;
}

/** The responses under way, so that `close` can end their keep-alive connections. */
function trackResponses(server: NodeServer): Set<NodeResponse> {
  const active = new Set<NodeResponse>();
  server.on("request", (_request: unknown, response: NodeResponse) => {
    active.add(response);
    response.once("close", () => active.delete(response));
  });
  return active;
}

/**
 * Stops accepting and waits for the requests under way; cuts the stragglers after a while.
 * Node's `close` ends idle keep-alive connections, but not those busy at that moment, which would
 * then hold it open until their keep-alive timeout: their responses say `Connection: close`.
 */
function closeHttp(server: NodeServer, active: Set<NodeResponse>): Promise<void> {
  // An HTTP/1 server's calls (Node 18.2 and later); an HTTP/2 one has neither.
  const closeIdle = () => {
    if ("closeIdleConnections" in server) server.closeIdleConnections();
  };
  for (const response of active) {
    if (!response.headersSent) response.setHeader("connection", "close");
    response.once("finish", () => setTimeout(closeIdle, 0));
  }
  return new Promise((resolve, reject) => {
    const cut = unref(
      setTimeout(() => {
        if ("closeAllConnections" in server) server.closeAllConnections();
      }, CLOSE_GRACE_MS),
    );
    server.close((error) => {
      clearTimeout(cut);
      if (error) reject(error);
      else resolve();
    });
    closeIdle();
  });
}
