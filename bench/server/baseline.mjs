// The reference points of the HTTP benchmark, run as a child process by bench/server.mjs:
// `node baseline.mjs node` answers a fixed JSON body with bare node:http (what this machine can
// do at all); `node baseline.mjs hono` does the same through Hono on @hono/node-server (what the
// session server's router and adapter cost before any token check or store).
import { createServer } from "node:http";

const BODY = JSON.stringify({
  session: {
    id: "s1",
    data: { n: 1 },
    createdAt: 0,
    updatedAt: 0,
    expiresAt: 1,
    ttl: 1,
    version: 1,
  },
});
const kind = process.argv[2] ?? "node";

async function listen() {
  if (kind === "node") {
    return createServer((_request, response) => {
      response.writeHead(200, { "content-type": "application/json; charset=utf-8" });
      response.end(BODY);
    });
  }
  if (kind === "hono") {
    const { Hono } = await import("hono");
    const { createAdaptorServer } = await import("@hono/node-server");
    const app = new Hono();
    app.get("/v1/sessions/:id", () => {
      return new Response(BODY, { headers: { "content-type": "application/json; charset=utf-8" } });
    });
    return createAdaptorServer({ fetch: app.fetch });
  }
  throw new Error(`unknown baseline ${kind}: node | hono`);
}

const server = await listen();
server.listen(0, "127.0.0.1", () => {
  console.log(`baseline ${kind} listening on http://127.0.0.1:${server.address().port}`);
});
process.once("SIGTERM", () => {
  server.close();
  server.closeAllConnections();
});
