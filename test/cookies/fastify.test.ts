// Cookie sessions in Fastify 5 over real HTTP: the shared behaviour suite through the plugin,
// registered at the root (fastify-plugin semantics: the hooks reach every route, also those of
// child scopes), and the plugin's types against Fastify's.
import Fastify from "fastify";
import { describe, expect, it } from "vitest";
import { cookieSessions, fastifySessions } from "../../src/cookies/index.ts";
import { SessionManager } from "../../src/index.ts";
import { serveFastify } from "./apps.ts";
import { testCookieSessions } from "./behaviour.ts";
import { Browser, flakyStore, SECRET } from "./helpers.ts";
import type { AppData } from "./routes.ts";

const flaky = flakyStore();
testCookieSessions("Fastify", serveFastify, {
  name: "memory",
  manager: () => new SessionManager<AppData>({ backend: flaky.store }),
  setDown: flaky.setDown,
});

describe("fastifySessions", () => {
  it("sends the cookie with a reply the route sends itself, and with an error reply", async () => {
    const sessions = cookieSessions<AppData>({ secret: SECRET });
    const app = Fastify();
    await app.register(fastifySessions(sessions));
    app.post("/login-then-fail", async (request) => {
      await request.session.rotate({ user: "ada" });
      throw new Error("after sign-in");
    });
    app.post("/login", (request, reply) => {
      request.session.rotate({ user: "ada" }).then(() => reply.send("ok"));
    });
    const url = await app.listen({ port: 0, host: "127.0.0.1" });
    try {
      const browser = new Browser(url);
      await browser.fetch("/login", { method: "POST" });
      expect(browser.last[0]?.name).toBe("__Host-sid");
      const failing = new Browser(url);
      const response = await failing.fetch("/login-then-fail", { method: "POST" });
      expect(response.status).toBe(500);
      // The session moved to a new id before the error: its cookie follows it.
      expect(failing.last[0]?.name).toBe("__Host-sid");
    } finally {
      await app.close();
      await sessions.close();
    }
  });
});
