// `npm run demo`'s server: the page, its development token and the session API on one origin,
// on SQLite by default and on Redis or PostgreSQL by flag. Needs dist/ (npm test builds first).
import { existsSync } from "node:fs";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { requireServices, services } from "./helpers/services.ts";

const built = existsSync("dist/server.js");
if (!built) console.warn("[demo server] WARNING: dist/ is missing (run npm run build)");
const { postgres: pg, redis } = await requireServices();

async function roundTrip(options: Record<string, string>): Promise<void> {
  const { startDemoServer } = await import("../demo/serve.mjs");
  const server = (await startDemoServer(0, options)) as Server;
  try {
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    expect((await fetch(`${base}/api/v1/sessions`)).status).toBe(401);
    const auth = { authorization: `Bearer ${await (await fetch(`${base}/token`)).text()}` };
    const id = `demo-${Date.now()}`;
    const put = await fetch(`${base}/api/v1/sessions/${id}`, {
      method: "PUT",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({ data: { user: "ada" }, ttl: 60_000 }),
    });
    expect(put.status).toBe(201);
    const got = await fetch(`${base}/api/v1/sessions/${id}`, { headers: auth });
    expect(((await got.json()) as { session: { data: unknown } }).session.data).toEqual({
      user: "ada",
    });
    await fetch(`${base}/api/v1/sessions/${id}`, { method: "DELETE", headers: auth });
    expect((await fetch(`${base}/`)).headers.get("content-type")).toMatch(/text\/html/);
  } finally {
    server.closeAllConnections();
    await new Promise((done) => server.close(done));
  }
}

describe.skipIf(!built)("the demo's server", () => {
  it("on SQLite (the default)", () => roundTrip({ db: ":memory:" }));
  it.skipIf(!redis)("on Redis, by flag", () =>
    roundTrip({ backend: "redis", url: `redis://${services.redis.host}:${services.redis.port}` }),
  );
  it.skipIf(!pg)("on PostgreSQL, by flag", () =>
    roundTrip({ backend: "postgres", url: services.postgres.url }),
  );
});
