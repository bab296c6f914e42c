// The framework recipes in demo/recipes/, run as users would run them: each mounts the session
// server's fetch handler in Express, Hono, Fastify or a Next.js route file, is started on a free
// port of 127.0.0.1 and driven over HTTP. The recipes import "sessionmanager/server" (dist/):
// `npm test` builds first; without a build this file is skipped with a warning.
import { existsSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { createAdaptorServer } from "@hono/node-server";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Browser, SECRET as COOKIE_SECRET } from "../cookies/helpers.ts";
import { SECRET, token } from "../helpers/server.ts";

interface Running {
  url: string;
  close(): Promise<void>;
}

type Handler = (request: Request) => Promise<Response>;

const built = existsSync(new URL("../../dist/server.js", import.meta.url));
if (!built) {
  console.warn(
    "[vitest] WARNING: dist/server.js is missing: the recipe tests are skipped (run `npm run build`)",
  );
}

/** A recipe module; a variable specifier, as the .mjs files carry no type declarations. */
function load(name: string): Promise<Record<string, unknown>> {
  return import(new URL(`../../demo/recipes/${name}.mjs`, import.meta.url).href);
}

const running: Running[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((app) => app.close()));
});

/** Starts the recipe's `start({ port: 0, … })` on a memory store; closed after the test. */
async function startRecipe(name: string): Promise<Running> {
  const { start } = (await load(name)) as { start(options: object): Promise<Running> };
  const app = await start({
    port: 0,
    host: "127.0.0.1",
    backend: "memory",
    auth: { secret: SECRET },
  });
  running.push(app);
  return app;
}

/**
 * What Next.js does with app/api/sessions/[...path]/route.js: a request under the route's
 * folder goes to the export named by its method (a web Request in, a Response out).
 */
async function startNextRoute(): Promise<Running> {
  const route = (await load("nextjs-route")) as Record<string, Handler | undefined>;
  const server = createAdaptorServer({
    fetch(request: Request) {
      const handler = new URL(request.url).pathname.startsWith("/api/sessions/")
        ? route[request.method]
        : undefined;
      return handler ? handler(request) : new Response("no such route", { status: 404 });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const app: Running = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        (server as import("node:http").Server).closeAllConnections();
      }),
  };
  running.push(app);
  return app;
}

/** Create, read, touch, delete a session through `api` (the mounted API's root), as alice. */
async function lifecycle(api: string): Promise<void> {
  const auth = { authorization: `Bearer ${await token("alice")}` };
  const json = { ...auth, "content-type": "application/json" };
  const session = `${api}/v1/sessions/user123`;

  const put = await fetch(session, {
    method: "PUT",
    headers: { ...json, "if-none-match": "*" },
    body: JSON.stringify({ data: { name: "Ada" }, ttl: 60_000 }),
  });
  expect(put.status).toBe(201);
  const created = (await put.json()).session;
  expect(created).toMatchObject({ id: "user123", data: { name: "Ada" }, ttl: 60_000, version: 1 });

  const got = await fetch(session, { headers: auth });
  expect(got.status).toBe(200);
  expect(got.headers.get("etag")).toBe('"1"');
  expect((await got.json()).session).toEqual(created);

  const touched = await fetch(`${session}/touch`, {
    method: "POST",
    headers: json,
    body: JSON.stringify({ ttl: 120_000 }),
  });
  expect(touched.status).toBe(200);
  const after = (await touched.json()).session;
  expect(after.version).toBe(2);
  expect(after.expiresAt).toBeGreaterThan(created.expiresAt);

  // Another owner does not see it through the mount either.
  const bob = await fetch(session, { headers: { authorization: `Bearer ${await token("bob")}` } });
  expect(bob.status).toBe(404);

  const removed = await fetch(session, { method: "DELETE", headers: auth });
  expect(removed.status).toBe(200);
  expect(await removed.json()).toEqual({ removed: true });
  expect((await fetch(session, { headers: auth })).status).toBe(404);

  const anonymous = await fetch(session);
  expect(anonymous.status).toBe(401);
  expect(anonymous.headers.get("www-authenticate")).toMatch(/^Bearer /);
  expect((await anonymous.json()).error.code).toBe("UNAUTHORIZED");
}

/** Bodies reach the session server untouched: its own 400 and 413, not the framework's. */
async function rawBodies(api: string): Promise<void> {
  const headers = {
    authorization: `Bearer ${await token("alice")}`,
    "content-type": "application/json",
  };
  const session = `${api}/v1/sessions/raw`;
  const broken = await fetch(session, { method: "PUT", headers, body: "{" });
  expect(broken.status).toBe(400);
  expect((await broken.json()).error.code).toBe("BAD_REQUEST");
  const big = JSON.stringify({ data: "x".repeat(70_000) });
  const tooLarge = await fetch(session, { method: "PUT", headers, body: big });
  expect(tooLarge.status).toBe(413);
  expect((await tooLarge.json()).error.code).toBe("PAYLOAD_TOO_LARGE");
}

const frameworks = [
  { name: "Express 5", file: "express" },
  { name: "Hono", file: "hono" },
  { name: "Fastify 5", file: "fastify" },
];

describe.skipIf(!built).each(frameworks)("$name recipe (demo/recipes/)", ({ file }) => {
  it("serves the sessions API under /sessions: create, read, touch, delete, 401", async () => {
    const app = await startRecipe(file);
    await lifecycle(`${app.url}/sessions`);
  });

  it("hands request bodies to the session server raw, and keeps the app's own JSON routes", async () => {
    const app = await startRecipe(file);
    await rawBodies(`${app.url}/sessions`);
    const echo = await fetch(`${app.url}/echo`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ hello: "world" }),
    });
    expect(echo.status).toBe(200);
    expect(await echo.json()).toEqual({ hello: "world" });
  });

  it("stops listening on close", async () => {
    const app = await startRecipe(file);
    expect((await fetch(`${app.url}/sessions/v1/sessions`)).status).toBe(401);
    await app.close();
    running.splice(running.indexOf(app), 1);
    await expect(fetch(`${app.url}/sessions/v1/sessions`)).rejects.toThrow();
  });
});

describe.skipIf(!built)("Next.js route recipe (demo/recipes/nextjs-route.mjs)", () => {
  const names = [
    "SESSIONMANAGER_BACKEND",
    "SESSIONMANAGER_SECRET",
    "SESSIONMANAGER_URL",
    "SESSIONMANAGER_COOKIE_SECRET",
  ];
  const saved = names.map((name) => process.env[name]);
  // The route file reads its configuration from the environment, on the first request.
  beforeAll(() => {
    process.env.SESSIONMANAGER_BACKEND = "memory";
    process.env.SESSIONMANAGER_SECRET = SECRET;
    process.env.SESSIONMANAGER_COOKIE_SECRET = COOKIE_SECRET;
    delete process.env.SESSIONMANAGER_URL;
  });
  afterAll(() => {
    names.forEach((name, i) => {
      if (saved[i] === undefined) delete process.env[name];
      else process.env[name] = saved[i];
    });
  });

  it("exports only what a Next.js route file may export", async () => {
    const route = await load("nextjs-route");
    expect(Object.keys(route).sort()).toEqual([
      "DELETE",
      "GET",
      "OPTIONS",
      "POST",
      "PUT",
      "runtime",
    ]);
    expect(route.runtime).toBe("nodejs");
    for (const method of ["GET", "PUT", "POST", "DELETE", "OPTIONS"]) {
      expect(route[method]).toBeTypeOf("function");
    }
  });

  it("serves the sessions API under /api/sessions: create, read, touch, delete, 401", async () => {
    const app = await startNextRoute();
    await lifecycle(`${app.url}/api/sessions`);
    await rawBodies(`${app.url}/api/sessions`);
  });

  it("signs in with cookie sessions at /api/sessions/account: rotate, read back, sign out", async () => {
    const app = await startNextRoute();
    const browser = new Browser(app.url);
    const path = "/api/sessions/account";
    expect(await browser.json(path)).toEqual({ user: null });
    expect(await browser.post(path, { user: "ada" })).toEqual({ user: "ada" });
    expect(browser.last[0]).toMatchObject({ name: "__Host-sid", attributes: { httponly: true } });
    const planted = browser.clone();
    expect(await browser.post(path, { user: "grace" })).toEqual({ user: "grace" });
    expect(await planted.json(path)).toEqual({ user: null }); // the id before sign-in is gone
    expect(await browser.json(path)).toEqual({ user: "grace" });
    expect(await browser.post(path, {}, 400)).toEqual({ error: "user is required" });
    expect(await browser.json(path, { method: "DELETE" })).toEqual({ user: null });
    expect(browser.cookies.size).toBe(0);
  });
});
