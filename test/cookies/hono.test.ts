// Cookie sessions in Hono, served by @hono/node-server over real HTTP: the shared behaviour
// suite on a memory store (which the test can take down), and the middleware's typing.
import type { AddressInfo } from "node:net";
import { createAdaptorServer } from "@hono/node-server";
import { Hono } from "hono";
import {
  type CookieSessions,
  honoSessions,
  type SessionVariables,
} from "../../src/cookies/index.ts";
import { SessionManager } from "../../src/index.ts";
import { type Running, testCookieSessions } from "./behaviour.ts";
import { flakyStore } from "./helpers.ts";
import { type AppData, failure, route } from "./routes.ts";

/** The test app in Hono, with the session middleware and an error handler. */
export function honoApp(
  sessions: CookieSessions<AppData>,
): Hono<{ Variables: SessionVariables<AppData> }> {
  const app = new Hono<{ Variables: SessionVariables<AppData> }>();
  app.onError((error, c) => {
    const { status, body } = failure(error);
    return c.json(body, status as 500);
  });
  app.use(honoSessions(sessions));
  app.all("*", async (c) => {
    const body = c.req.header("content-type") ? await c.req.json() : undefined;
    const { status, body: answer } = await route(c.req.method, c.req.path, c.get("session"), body);
    return c.json(answer, status as 200);
  });
  return app;
}

/** Serves `fetch` on a free port of 127.0.0.1 through @hono/node-server. */
export async function serveFetch(
  fetch: (request: Request) => Response | Promise<Response>,
): Promise<Running> {
  const server = createAdaptorServer({ fetch });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise((resolve) => {
        (server as import("node:http").Server).closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const flaky = flakyStore();
testCookieSessions("Hono", (sessions) => serveFetch(honoApp(sessions).fetch), {
  name: "memory",
  manager: () => new SessionManager<AppData>({ backend: flaky.store }),
  setDown: flaky.setDown,
});
