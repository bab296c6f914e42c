// Hono: the sessionmanager API under /sessions, next to the app's own routes, and cookie sessions
// for the app's pages (sessionmanager-js/cookies: a signed, HttpOnly, Secure, SameSite=Lax cookie
// holding only a random id; the data on the same backend, in a namespace of its own).
//
//   SESSIONMANAGER_SECRET=<32+ bytes> node demo/recipes/hono.mjs
//   curl -H "authorization: Bearer $TOKEN" http://127.0.0.1:3000/sessions/v1/sessions
//   curl -c jar -H "content-type: application/json" -d '{"user":"ada"}' http://127.0.0.1:3000/login
//   curl -b jar http://127.0.0.1:3000/me
import { fileURLToPath } from "node:url";
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { csrf } from "hono/csrf";
import { mount } from "hono/mount";
import { cookieSessions, honoSessions } from "sessionmanager-js/cookies";
import { createSessionServer } from "sessionmanager-js/server";

const defaults = {
  backend: "sqlite",
  path: "sessions.db",
  auth: { secret: process.env.SESSIONMANAGER_SECRET },
};

/** The Hono app, the session server it mounts and the cookie sessions (close both). */
export function createApp(options = defaults) {
  const sessions = createSessionServer(options);
  const pages = cookieSessions({
    store: {
      backend: options.backend,
      ...(options.path === undefined ? {} : { path: options.path }),
      ...(options.url === undefined ? {} : { url: options.url }),
      namespace: "pages",
    },
    // At least 32 characters; a list rotates keys (the first signs, all verify).
    secret: process.env.SESSIONMANAGER_COOKIE_SECRET ?? options.auth.secret,
    ttl: "30m", // idle timeout, extended while the user is active
    maxAge: "12h", // absolute lifetime, never extended
  });
  const app = new Hono();
  // mount() strips "/sessions" from the URL, so the session server needs no basePath.
  app.all("/sessions/*", mount(sessions.fetch));
  app.post("/echo", async (c) => c.json(await c.req.json()));

  // The pages. Registered after the API and /echo, so those answer before reaching them: a form
  // post from another site is refused by its Origin (CSRF), and every route below has the
  // session as c.get("session").
  app.use(csrf());
  app.use(honoSessions(pages));
  app.post("/login", async (c) => {
    const { user } = await c.req.json();
    if (typeof user !== "string" || !user) return c.json({ error: "user is required" }, 400);
    // A fresh id on sign-in: an id planted before it (session fixation) is worthless.
    await c.get("session").rotate({ user });
    return c.json({ user });
  });
  app.get("/me", (c) => c.json({ user: c.get("session").data?.user ?? null }));
  app.post("/logout", async (c) => {
    await c.get("session").destroy();
    return c.json({ user: null });
  });
  return { app, sessions, pages };
}

/** Listens on `port` (0: a free one); resolves to `{ url, close }`. */
export function start({ port = 3000, host = "127.0.0.1", ...options } = {}) {
  const { app, sessions, pages } = createApp({ ...defaults, ...options });
  return new Promise((resolve) => {
    const server = serve({ fetch: app.fetch, port, hostname: host }, (info) => {
      resolve({
        url: `http://${host}:${info.port}`,
        async close() {
          await new Promise((done) => server.close(done));
          await sessions.close();
          await pages.close();
        },
      });
    });
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { url } = await start();
  console.log(`Hono on ${url}, sessions API at ${url}/sessions/v1, cookie sessions at /login`);
}
