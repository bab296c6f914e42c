// The Hono and Fastify recipes (demo/recipes/) with cookie sessions, run as users would run them
// from the built package (they import "sessionmanager-js/cookies"): sign in with rotate, read
// back, a planted pre-sign-in cookie refused, a cross-site form post refused, sign out; on a
// memory backend and, when it is there, on Redis. Without a build this file is skipped.
import { existsSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { SECRET } from "../helpers/server.ts";
import { requireService, services } from "../helpers/services.ts";
import { Browser } from "./helpers.ts";

interface Running {
  url: string;
  close(): Promise<void>;
}

const built = existsSync(new URL("../../dist/cookies.js", import.meta.url));
if (!built)
  console.warn("[vitest] WARNING: dist/cookies.js is missing: the cookie recipe tests are skipped");
const redisUp = await requireService("redis");

const running: Running[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((app) => app.close()));
});

async function startRecipe(name: string, backend: object): Promise<Running> {
  const recipe = new URL(`../../demo/recipes/${name}.mjs`, import.meta.url).href;
  const { start } = (await import(recipe)) as { start(options: object): Promise<Running> };
  const app = await start({ port: 0, host: "127.0.0.1", ...backend, auth: { secret: SECRET } });
  running.push(app);
  return app;
}

const { host, port } = services.redis;
const backends = [
  { name: "memory", options: { backend: "memory" }, up: true },
  { name: "Redis", options: { backend: "redis", url: `redis://${host}:${port}` }, up: redisUp },
];

describe.skipIf(!built).each(["hono", "fastify"])("the %s recipe's cookie sessions", (name) => {
  it.each(backends)(
    "sign in, read back, refuse a planted id and a cross-site post, sign out ($name)",
    async ({ options, up }) => {
      if (!up) return;
      const app = await startRecipe(name, options);
      const browser = new Browser(app.url);
      expect(await browser.json("/me")).toEqual({ user: null });
      expect(browser.last).toEqual([]); // no session, no cookie
      expect(await browser.post("/login", { user: "ada" })).toEqual({ user: "ada" });
      expect(browser.last[0]).toMatchObject({
        name: "__Host-sid",
        attributes: { httponly: true, secure: true, samesite: "Lax", path: "/" },
      });
      const planted = browser.clone();
      expect(await browser.post("/login", { user: "grace" })).toEqual({ user: "grace" });
      expect(await planted.json("/me")).toEqual({ user: null });
      expect(await browser.json("/me")).toEqual({ user: "grace" });
      expect(await browser.post("/login", {}, 400)).toEqual({ error: "user is required" });

      // A form on another site posting to /logout with the user's cookie: refused by its Origin.
      const crossSite = await browser.fetch("/logout", {
        method: "POST",
        headers: {
          origin: "https://evil.example",
          "content-type": "application/x-www-form-urlencoded",
        },
        body: "a=1",
      });
      expect(crossSite.status).toBe(403);
      expect(await browser.json("/me")).toEqual({ user: "grace" });

      expect(await browser.post("/logout")).toEqual({ user: null });
      expect(browser.cookies.size).toBe(0);
      expect(await browser.json("/me")).toEqual({ user: null });
    },
  );
});
