// An Express app with express-session on SessionManagerStore from the BUILT package, in a process
// of its own (as a deployment runs several behind a balancer). STORE_BUILD says which build:
// "esm" imports dist/express-session.js, "cjs" requires dist/express-session.cjs (plain Node, no
// bundler: the CJS/ESM interop with express-session is the package's own). STORE_OPTIONS is the
// store's options as JSON. Prints its URL once it listens; SIGTERM closes it and its store.
import { createRequire } from "node:module";
import express from "express";
import session from "express-session";

const dist = new URL("../../dist/", import.meta.url);
const { SessionManagerStore } =
  process.env.STORE_BUILD === "cjs"
    ? createRequire(import.meta.url)(new URL("express-session.cjs", dist).pathname)
    : await import(new URL("express-session.js", dist).href);

const store = new SessionManagerStore(JSON.parse(process.env.STORE_OPTIONS ?? "{}"));
const app = express();
app.use(
  session({
    store,
    secret: "a secret long enough for the tests of the express-session store",
    resave: false,
    saveUninitialized: false,
    cookie: { maxAge: 60_000 },
  }),
);
app.post("/login", (req, res, next) => {
  req.session.regenerate((error) => {
    if (error) return next(error);
    req.session.user = "ada";
    res.json({ sid: req.sessionID, pid: process.pid });
  });
});
app.get("/me", (req, res) => {
  res.json({ sid: req.sessionID, user: req.session.user ?? null, views: req.session.views ?? 0 });
});
app.post("/views", (req, res) => {
  req.session.views = (req.session.views ?? 0) + 1;
  res.json({ views: req.session.views });
});
app.post("/logout", (req, res, next) => {
  req.session.destroy((error) => (error ? next(error) : res.json({ ok: true })));
});
app.use((error, _req, res, _next) => {
  res.status(500).json({ code: error.code ?? null, message: error.message });
});

const server = app.listen(0, "127.0.0.1", () => {
  console.log(`http://127.0.0.1:${server.address().port}`);
});
process.on("SIGTERM", () => {
  server.close();
  server.closeAllConnections();
  store.close().then(() => process.exit(0));
});
