#!/usr/bin/env node
// `npm run demo`: serves the demo page and the script-tag bundle on 127.0.0.1 until Ctrl-C.
//   PORT=8080 npm run demo     # another port (default 5173; 0 picks a free one)
import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import { extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";

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

export function startDemoServer(port = Number(process.env.PORT ?? 5173)) {
  const server = createServer(async (request, response) => {
    const path = files[normalize(new URL(request.url ?? "/", "http://x").pathname)];
    try {
      if (!path) throw Object.assign(new Error("not found"), { code: "ENOENT" });
      const body = await readFile(path);
      response.writeHead(200, {
        "content-type": `${types[extname(path)] ?? "text/plain"}; charset=utf-8`,
      });
      response.end(body);
    } catch (error) {
      response.writeHead(error.code === "ENOENT" ? 404 : 500, { "content-type": "text/plain" });
      response.end(error.code === "ENOENT" ? "not found\n" : "error\n");
    }
  });
  return new Promise((resolve) => server.listen(port, "127.0.0.1", () => resolve(server)));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const server = await startDemoServer();
  console.log(`sessionmanager demo: http://127.0.0.1:${server.address().port}/  (Ctrl-C stops it)`);
  const stop = () => server.close(() => process.exit(0));
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}
