// Hono: the sessionmanager API under /sessions, next to the app's own routes.
//
//   SESSIONMANAGER_SECRET=<32+ bytes> node demo/recipes/hono.mjs
//   curl -H "authorization: Bearer $TOKEN" http://127.0.0.1:3000/sessions/v1/sessions
import { fileURLToPath } from "node:url";
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { mount } from "hono/mount";
import { createSessionServer } from "sessionmanager-js/server";

const defaults = {
  backend: "sqlite",
  path: "sessions.db",
  auth: { secret: process.env.SESSIONMANAGER_SECRET },
};

/** The Hono app, and the session server it mounts (close it with the app). */
export function createApp(options = defaults) {
  const sessions = createSessionServer(options);
  const app = new Hono();
  // mount() strips "/sessions" from the URL, so the session server needs no basePath.
  app.all("/sessions/*", mount(sessions.fetch));
  app.post("/echo", async (c) => c.json(await c.req.json()));
  return { app, sessions };
}

/** Listens on `port` (0: a free one); resolves to `{ url, close }`. */
export function start({ port = 3000, host = "127.0.0.1", ...options } = {}) {
  const { app, sessions } = createApp({ ...defaults, ...options });
  return new Promise((resolve) => {
    const server = serve({ fetch: app.fetch, port, hostname: host }, (info) => {
      resolve({
        url: `http://${host}:${info.port}`,
        async close() {
          await new Promise((done) => server.close(done));
          await sessions.close();
        },
      });
    });
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { url } = await start();
  console.log(`Hono on ${url}, sessions API at ${url}/sessions/v1`);
}
