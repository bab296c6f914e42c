#!/usr/bin/env node
// `npm run demo`: the demo page, the script-tag bundle and a sessionmanager server on SQLite, on
// one origin (127.0.0.1), until Ctrl-C. The page keeps sessions in localStorage and syncs them
// with the server under /api, with a development token from /token.
//   PORT=8080 npm run demo          # another port (default 5173; 0 picks a free one)
//   DEMO_DB=/tmp/s.db npm run demo  # another SQLite database (default demo/.sessions.db)
//   npm run demo -- --backend redis --url redis://127.0.0.1:6379      # or postgres, memcached, file
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import { extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { getRequestListener } from "@hono/node-server";
import { SignJWT } from "jose";
import { createSessionServer } from "../dist/server.js";

const here = fileURLToPath(new URL(".", import.meta.url));
const files = {
  "/": join(here, "index.html"),
  "/app.js": join(here, "app.js"),
  "/style.css": join(here, "style.css"),
  "/sessionmanager.global.js": join(here, "..", "dist", "sessionmanager.global.js"),
  "/sessionmanager.global.js.map": join(here, "..", "dist", "sessionmanager.global.js.map"),
};
const types = {
  ".html": "text/html",
  ".js": "text/javascript",
  ".css": "text/css",
  ".map": "application/json",
};

/**
 * Serves the demo on 127.0.0.1 (`port` 0: a free one), with the session server on SQLite at
 * `db` (":memory:" for tests), or on `backend` at `url` (or `path`). Closing the returned
 * server closes the session server too; `await server.stop()` waits until both are closed.
 */
export async function startDemoServer(
  port = Number(process.env.PORT ?? 5173),
  { db = process.env.DEMO_DB ?? join(here, ".sessions.db"), backend = "sqlite", url, path } = {},
) {
  // A secret of this run: tokens from an earlier run stop working, which is what a demo wants.
  const secret = randomBytes(32);
  const where = backend === "sqlite" ? { path: path ?? db } : { url, path };
  const sessions = createSessionServer({
    backend,
    ...Object.fromEntries(Object.entries(where).filter(([, v]) => v !== undefined)),
    namespace: "demo",
    auth: { secret },
    basePath: "/api",
    sweepInterval: "5s",
  });
  const api = getRequestListener(sessions.fetch);
  // Every page is the user "demo": open the page in another browser and it sees the same sessions.
  const token = () =>
    new SignJWT({ sub: "demo" })
      .setProtectedHeader({ alg: "HS256" })
      .setIssuedAt()
      .setExpirationTime("1h")
      .sign(secret);

  const server = createServer(async (request, response) => {
    const path = normalize(new URL(request.url ?? "/", "http://x").pathname);
    if (path.startsWith("/api/")) return api(request, response);
    if (path === "/token") {
      response.writeHead(200, { "content-type": "text/plain", "cache-control": "no-store" });
      return response.end(await token());
    }
    try {
      if (!files[path]) throw Object.assign(new Error("not found"), { code: "ENOENT" });
      const body = await readFile(files[path]);
      response.writeHead(200, {
        "content-type": `${types[extname(files[path])] ?? "text/plain"}; charset=utf-8`,
      });
      response.end(body);
    } catch (error) {
      response.writeHead(error.code === "ENOENT" ? 404 : 500, { "content-type": "text/plain" });
      response.end(error.code === "ENOENT" ? "not found\n" : "error\n");
    }
  });
  server.on("close", () => sessions.close());
  // Waits for the store to close as well: SQLite removes its -wal and -shm files only then.
  server.stop = async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await sessions.close();
  };
  return new Promise((resolve) => server.listen(port, "127.0.0.1", () => resolve(server)));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: { backend: { type: "string" }, url: { type: "string" }, path: { type: "string" } },
  });
  const server = await startDemoServer(undefined, values);
  const url = `http://127.0.0.1:${server.address().port}/`;
  const on = values.backend ?? "sqlite";
  console.log(
    `sessionmanager demo: ${url}  (sessions synced with ${url}api on ${on}; Ctrl-C stops it)`,
  );
  // Exits once the store is closed: exiting as soon as the HTTP server closed left SQLite's
  // demo/.sessions.db-wal and -shm behind.
  const stop = () =>
    server.stop().then(
      () => process.exit(0),
      (error) => {
        console.error(`sessionmanager demo: could not close the store: ${error.message}`);
        process.exit(1);
      },
    );
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}
