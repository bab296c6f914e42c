// Express 5: the sessionmanager API under /sessions, next to the app's own routes, and cookie
// sessions for the app's pages through express-session with SessionManagerStore (on the same
// backend, in a namespace of their own).
//
//   SESSIONMANAGER_SECRET=<32+ bytes> node demo/recipes/express.mjs
//   curl -H "authorization: Bearer $TOKEN" http://127.0.0.1:3000/sessions/v1/sessions
//   curl -c jar -H "content-type: application/json" -d '{"user":"ada"}' http://127.0.0.1:3000/login
//   curl -b jar http://127.0.0.1:3000/me
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { getRequestListener } from "@hono/node-server";
import express from "express";
import session from "express-session";
import { SessionManagerStore } from "sessionmanager-js/express-session";
import { createSessionServer } from "sessionmanager-js/server";

const defaults = {
  backend: "sqlite",
  path: "sessions.db",
  auth: { secret: process.env.SESSIONMANAGER_SECRET },
};

/** The Express app, the session server it mounts and the cookie sessions' store (close both). */
export function createApp(options = defaults) {
  const sessions = createSessionServer(options);
  // One line where connect-redis had `new RedisStore({ client })`: any backend, and its events.
  const store = new SessionManagerStore({
    backend: options.backend,
    ...(options.path === undefined ? {} : { path: options.path }),
    ...(options.url === undefined ? {} : { url: options.url }),
    namespace: "sess",
    warnBefore: "5m",
  });
  // On the server: a session about to end (here a log line; an app could mail or push).
  store.manager.onExpiringSoon((s, msLeft) => {
    console.log(`session of ${s.data.user ?? "a visitor"} ends in ${Math.round(msLeft / 1000)} s`);
  });
  const app = express();
  // Mounted before any body parser: the session server reads and checks the raw body itself.
  // Express strips "/sessions" from req.url, so the session server needs no basePath.
  app.use("/sessions", getRequestListener(sessions.fetch));
  app.use(express.json());
  app.post("/echo", (req, res) => res.json(req.body));
  app.use(
    session({
      store,
      secret: process.env.SESSION_SECRET ?? options.auth.secret,
      resave: false, // the store has touch: unchanged sessions are touched, not rewritten
      saveUninitialized: false, // no session (and no cookie) until there is something in it
      cookie: {
        httpOnly: true,
        sameSite: "lax",
        secure: process.env.NODE_ENV === "production",
        maxAge: 30 * 60_000,
      },
    }),
  );
  app.post("/login", (req, res, next) => {
    // A fresh session id on sign-in (session fixation).
    req.session.regenerate((error) => {
      if (error) return next(error);
      req.session.user = String(req.body?.user ?? "");
      res.json({ user: req.session.user });
    });
  });
  app.get("/me", (req, res) => res.json({ user: req.session.user ?? null }));
  app.post("/logout", (req, res, next) => {
    req.session.destroy((error) => (error ? next(error) : res.json({ user: null })));
  });
  return { app, sessions, store };
}

/** Listens on `port` (0: a free one); resolves to `{ url, close }`. */
export async function start({ port = 3000, host = "127.0.0.1", ...options } = {}) {
  const { app, sessions, store } = createApp({ ...defaults, ...options });
  const server = app.listen(port, host);
  await once(server, "listening");
  return {
    url: `http://${host}:${server.address().port}`,
    async close() {
      await new Promise((resolve) => {
        server.close(resolve);
        server.closeAllConnections();
      });
      await sessions.close();
      await store.close();
    },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { url } = await start();
  console.log(`Express on ${url}, sessions API at ${url}/sessions/v1, cookie sessions at /login`);
}
