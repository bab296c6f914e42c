// Hono on @hono/node-server, once as the floor (one ioredis GET per request, of the key the
// cookie names, nothing signed) and once with our cookie sessions (`cookieSessions` and its Hono
// adapter, from the built package) on the same Redis.
import { randomUUID } from "node:crypto";
import { Hono } from "hono";
import { getCookie, setCookie } from "hono/cookie";
import { fromDist } from "../../lib/dist.mjs";
import { HOUR_MS, namespaceOf, SECRET, USER } from "./common.mjs";

/** The floor: GET /me is one GET of `<namespace>:<cookie>` and a JSON parse. `{ app, close }`. */
export async function floor({ redisUrl, run }) {
  const { Redis } = await import("ioredis");
  // Auto-pipelined, as the Redis store's own connection is: the floor gets the same batching.
  const redis = new Redis(redisUrl, { enableAutoPipelining: true });
  const prefix = `${namespaceOf(run, "floor")}:`;
  const app = new Hono();
  app.post("/login", async (c) => {
    const id = randomUUID();
    await redis.set(prefix + id, JSON.stringify(USER), "PX", HOUR_MS);
    setCookie(c, "sid", id, { httpOnly: true, sameSite: "Lax", path: "/", maxAge: HOUR_MS / 1000 });
    return c.json({ ok: true });
  });
  app.get("/me", async (c) => {
    const id = getCookie(c, "sid");
    const raw = id ? await redis.get(prefix + id) : null;
    if (!raw) return c.json({ error: "signed out" }, 401);
    return c.json(JSON.parse(raw));
  });
  return { app, close: () => redis.quit() };
}

/** Ours: cookieSessions on the redis backend through its Hono middleware. `{ app, close }`. */
export async function cookies({ redisUrl, run }) {
  const mod = await fromDist("cookies.js");
  const sessions = mod.cookieSessions({
    store: { backend: "redis", url: redisUrl, namespace: namespaceOf(run, "cookies") },
    secret: SECRET,
    // Plain http on 127.0.0.1: allowed without Secure (local development).
    cookie: { secure: false },
  });
  const app = new Hono();
  app.use(mod.honoSessions(sessions));
  app.post("/login", async (c) => {
    await c.get("session").rotate(USER);
    return c.json({ ok: true });
  });
  app.get("/me", (c) => {
    const data = c.get("session").data;
    if (!data) return c.json({ error: "signed out" }, 401);
    return c.json(data);
  });
  return { app, close: () => sessions.close() };
}
