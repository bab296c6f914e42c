// Cookie sessions in Hono, served by @hono/node-server over real HTTP: the shared behaviour
// suite on a memory store (which the test can take down), and what the middleware adds.

import type { Server } from "node:http";
import { createAdaptorServer } from "@hono/node-server";
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { cookieSessions, honoSessions, type SessionVariables } from "../../src/cookies/index.ts";
import { SessionManager } from "../../src/index.ts";
import { listen, serveHono } from "./apps.ts";
import { testCookieSessions } from "./behaviour.ts";
import { Browser, flakyStore, SECRET } from "./helpers.ts";
import type { AppData } from "./routes.ts";

const flaky = flakyStore();
testCookieSessions("Hono", serveHono, {
  name: "memory",
  manager: () => new SessionManager<AppData>({ backend: flaky.store }),
  setDown: flaky.setDown,
});

describe("honoSessions", () => {
  it("adds the cookie to a response whose headers are immutable (a redirect)", async () => {
    const sessions = cookieSessions<AppData>({ secret: SECRET });
    const app = new Hono<{ Variables: SessionVariables<AppData> }>();
    app.use(honoSessions(sessions));
    app.post("/login", async (c) => {
      await c.get("session").rotate({ user: "ada" });
      return Response.redirect("http://127.0.0.1/home", 303);
    });
    const running = await listen(createAdaptorServer({ fetch: app.fetch }) as Server);
    try {
      const browser = new Browser(running.url);
      const response = await browser.fetch("/login", { method: "POST", redirect: "manual" });
      expect(response.status).toBe(303);
      expect(browser.last[0]?.name).toBe("__Host-sid");
    } finally {
      await running.close();
      await sessions.close();
    }
  });
});
