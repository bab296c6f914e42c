// Express 5 + express-session, once with connect-redis 9 on the `redis` 5 client (its documented
// setup) and once with our SessionManagerStore from the built package, on the same Redis.
// Both: resave false, saveUninitialized false, a cookie with maxAge (the ttl of both stores).
import express from "express";
import session from "express-session";
import { fromDist } from "../../lib/dist.mjs";
import { HOUR_MS, namespaceOf, SECRET, USER } from "./common.mjs";

/** express-session with connect-redis: `{ app, close }`. */
export async function connectRedis({ redisUrl, run }) {
  const { createClient } = await import("redis");
  const { RedisStore } = await import("connect-redis");
  const client = createClient({ url: redisUrl });
  client.on("error", (error) => console.error(`redis client: ${error.message}`));
  await client.connect();
  const store = new RedisStore({ client, prefix: `${namespaceOf(run, "connect-redis")}:` });
  return { app: sessionApp(store), close: () => client.close() };
}

/** express-session with SessionManagerStore on the redis backend: `{ app, close }`. */
export async function sessionManager({ redisUrl, run }) {
  const { SessionManagerStore } = await fromDist("express-session.js");
  const store = new SessionManagerStore({
    backend: "redis",
    url: redisUrl,
    namespace: namespaceOf(run, "sessionmanager"),
  });
  const close = () => (store.close ? store.close() : store.manager.close());
  return { app: sessionApp(store), close };
}

function sessionApp(store) {
  const app = express();
  app.use(
    session({
      store,
      secret: SECRET,
      resave: false,
      saveUninitialized: false,
      cookie: { maxAge: HOUR_MS },
    }),
  );
  app.post("/login", (req, res, next) => {
    // A fresh id on sign-in, as an app should (session fixation); saved when the response ends.
    req.session.regenerate((error) => {
      if (error) return next(error);
      req.session.user = USER;
      res.json({ ok: true });
    });
  });
  app.get("/me", (req, res) => {
    const user = req.session.user;
    if (!user) return res.status(401).json({ error: "signed out" });
    res.json(user);
  });
  return app;
}
