// Express 5: the sessionmanager API under /sessions, next to the app's own routes.
//
//   SESSIONMANAGER_SECRET=<32+ bytes> node demo/recipes/express.mjs
//   curl -H "authorization: Bearer $TOKEN" http://127.0.0.1:3000/sessions/v1/sessions
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { getRequestListener } from "@hono/node-server";
import express from "express";
import { createSessionServer } from "sessionmanager-js/server";

const defaults = {
  backend: "sqlite",
  path: "sessions.db",
  auth: { secret: process.env.SESSIONMANAGER_SECRET },
};

/** The Express app, and the session server it mounts (close it with the app). */
export function createApp(options = defaults) {
  const sessions = createSessionServer(options);
  const app = express();
  // Mounted before any body parser: the session server reads and checks the raw body itself.
  // Express strips "/sessions" from req.url, so the session server needs no basePath.
  app.use("/sessions", getRequestListener(sessions.fetch));
  app.use(express.json());
  app.post("/echo", (req, res) => res.json(req.body));
  return { app, sessions };
}

/** Listens on `port` (0: a free one); resolves to `{ url, close }`. */
export async function start({ port = 3000, host = "127.0.0.1", ...options } = {}) {
  const { app, sessions } = createApp({ ...defaults, ...options });
  const server = app.listen(port, host);
  await once(server, "listening");
  return {
    url: `http://${host}:${server.address().port}`,
    async close() {
      await new Promise((resolve) => server.close(resolve));
      await sessions.close();
    },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { url } = await start();
  console.log(`Express on ${url}, sessions API at ${url}/sessions/v1`);
}
