// One app of the sessions bench in its own process: `node server.mjs <app> '<config JSON>'`, the
// config `{ redisUrl, run }`. Prints "listening on <url>" (127.0.0.1, a free port) once ready;
// on SIGTERM closes its HTTP server and its Redis clients, then exits.
import { createAdaptorServer } from "@hono/node-server";
import { connectRedis, sessionManager } from "./apps/express.mjs";
import { cookies, floor } from "./apps/hono.mjs";

/** The apps by name: Express ones are (req, res) handlers, Hono ones have `fetch`. */
const APPS = {
  "express-connect-redis": connectRedis,
  "express-sessionmanager": sessionManager,
  "hono-floor": floor,
  "hono-cookies": cookies,
};

const [name, json] = process.argv.slice(2);
const make = APPS[name];
if (!make) throw new Error(`unknown app ${name}: ${Object.keys(APPS).join(" | ")}`);
const { app, close } = await make(JSON.parse(json));
const server = typeof app.fetch === "function" ? createAdaptorServer({ fetch: app.fetch }) : null;
const http = server ?? (await import("node:http")).createServer(app);
http.keepAliveTimeout = 10_000;
http.listen(0, "127.0.0.1", () => {
  console.log(`${name} listening on http://127.0.0.1:${http.address().port}`);
});
process.once("SIGTERM", () => {
  http.close();
  http.closeAllConnections();
  Promise.resolve(close())
    .catch((error) => console.error(`closing ${name}: ${error.message}`))
    .finally(() => process.exit(0));
});
