// Cookie sessions on plain node:http over real HTTP: the shared behaviour suite through
// nodeSessions(), and the core's commit() on a ServerResponse by hand.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { describe, expect, it } from "vitest";
import { cookieSessions, nodeSessions } from "../../src/cookies/index.ts";
import { SessionManager } from "../../src/index.ts";
import { listen, serveNode } from "./apps.ts";
import { testCookieSessions } from "./behaviour.ts";
import { Browser, flakyStore, SECRET } from "./helpers.ts";
import type { AppData } from "./routes.ts";

const flaky = flakyStore();
testCookieSessions("node:http", serveNode, {
  name: "memory",
  manager: () => new SessionManager<AppData>({ backend: flaky.store }),
  setDown: flaky.setDown,
});

describe("on Node's request and response without the wrapper", () => {
  it("loads from IncomingMessage and commits to ServerResponse, keeping other cookies", async () => {
    const sessions = cookieSessions<AppData>({ secret: SECRET });
    const app = await listen(
      createServer(async (request, response) => {
        const session = await sessions.load(request);
        if (request.method === "POST") await session.rotate({ user: "ada" });
        response.setHeader("set-cookie", "theme=dark; Path=/");
        sessions.commit(session, response);
        sessions.commit(session, response); // a second commit sends nothing again
        response.end(JSON.stringify({ user: session.data?.user ?? null }));
      }),
    );
    try {
      const browser = new Browser(app.url);
      await browser.fetch("/", { method: "POST" });
      expect(browser.last.map((c) => c.name)).toEqual(["theme", "__Host-sid"]);
      expect(await (await browser.fetch("/")).json()).toEqual({ user: "ada" });
    } finally {
      await app.close();
      await sessions.close();
    }
  });

  it("answers with 503 and the code when the store fails, by default", async () => {
    const flakyOne = flakyStore();
    const manager = new SessionManager<AppData>({ backend: flakyOne.store });
    const sessions = cookieSessions<AppData>({ secret: SECRET, manager });
    const app = await listen(
      createServer(
        nodeSessions(sessions, (_q: IncomingMessage, response: ServerResponse) => response.end()),
      ),
    );
    try {
      const browser = new Browser(app.url);
      browser.cookies.set("__Host-sid", "x");
      flakyOne.setDown(true);
      // A cookie of no valid shape is not even looked up: no store call, no failure.
      expect((await browser.fetch("/")).status).toBe(200);
      const signedIn = cookieSessions<AppData>({ secret: SECRET, manager });
      flakyOne.setDown(false);
      const session = await signedIn.load({ headers: {} });
      await session.set({ user: "ada" });
      const [cookie = ""] = signedIn.setCookies(session);
      browser.cookies.set("__Host-sid", cookie.split(";")[0]?.split("=")[1] as string);
      flakyOne.setDown(true);
      const response = await browser.fetch("/");
      expect(response.status).toBe(503);
      expect(await response.json()).toEqual({ error: { code: "BACKEND_UNAVAILABLE" } });
    } finally {
      flakyOne.setDown(false);
      await app.close();
      await manager.close();
    }
  });
});
