// Servers for the framework adapters' tests: a fetch handler (what Next.js route handlers and
// SvelteKit's server hand the adapters: a web Request in, a Response out) or a Node listener
// (H3's toNodeListener), on a free port of 127.0.0.1 over real HTTP; and the memory backend
// the shared behaviour suite runs on, which a test can take down.
import { createServer, type RequestListener } from "node:http";
import type { AddressInfo } from "node:net";
import { createAdaptorServer } from "@hono/node-server";
import { SessionManager } from "../../../src/index.ts";
import type { Backend, Running } from "../behaviour.ts";
import { flakyStore } from "../helpers.ts";
import type { AppData } from "../routes.ts";

/** Serves `fetch` through @hono/node-server (Node's request turned into a web Request). */
export function serveFetch(
  fetch: (request: Request) => Response | Promise<Response>,
): Promise<Running> {
  // Leaving the global Response alone: @hono/node-server's own has mutable headers everywhere,
  // where a redirect's (and a fetch() response's) are immutable in Node, Next.js and SvelteKit.
  const server = createAdaptorServer({ fetch, overrideGlobalObjects: false });
  return listen(server as ReturnType<typeof createServer>);
}

/** Serves a Node request listener with node:http. */
export function serveNode(listener: RequestListener): Promise<Running> {
  return listen(createServer(listener));
}

async function listen(server: ReturnType<typeof createServer>): Promise<Running> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Memory, through a store the suite can take down. */
export function memoryBackend(): Backend {
  const flaky = flakyStore();
  return {
    name: "memory",
    manager: () => new SessionManager<AppData>({ backend: flaky.store }),
    setDown: flaky.setDown,
  };
}

/** The JSON body of a POST, as the test app reads it. */
export async function bodyOf(request: Request): Promise<{ user?: string } | undefined> {
  return request.headers.get("content-type") ? await request.json() : undefined;
}
