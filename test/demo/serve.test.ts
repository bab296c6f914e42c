// `npm run demo`'s server: the page, its development token and the session API on one origin,
// on SQLite by default and on Redis or PostgreSQL by flag. Needs dist/ (npm test builds first).
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { requireServices, services } from "../helpers/services.ts";
import { tempDir } from "../helpers/temp.ts";

const built = existsSync("dist/server.js");
if (!built) console.warn("[demo server] WARNING: dist/ is missing (run npm run build)");
const { postgres: pg, redis } = await requireServices();

async function roundTrip(options: Record<string, string>): Promise<void> {
  const { startDemoServer } = await import("../../demo/serve.mjs");
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

describe.skipIf(!built)("npm run demo's process", () => {
  it("closes the SQLite store on SIGINT before exiting: no -wal or -shm left", async () => {
    const db = join(await tempDir("sm-demo-"), "sessions.db");
    const child = spawn(process.execPath, ["demo/serve.mjs"], {
      env: { ...process.env, PORT: "0", DEMO_DB: db },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
    let stderr = "";
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    try {
      const base = await new Promise<string>((resolve, reject) => {
        let stdout = "";
        child.stdout.on("data", (chunk) => {
          stdout += chunk;
          const url = /demo: (http:\/\/127\.0\.0\.1:\d+)\//.exec(stdout)?.[1];
          if (url) resolve(url);
        });
        exited.then((code) => reject(new Error(`the demo exited (${code}): ${stderr}`)));
      });
      const auth = { authorization: `Bearer ${await (await fetch(`${base}/token`)).text()}` };
      const put = await fetch(`${base}/api/v1/sessions/wal`, {
        method: "PUT",
        headers: { ...auth, "content-type": "application/json" },
        body: JSON.stringify({ data: 1, ttl: "10m" }),
      });
      expect(put.status).toBe(201);
      // The store is open in WAL mode: the files this test expects gone are there now.
      expect(existsSync(`${db}-wal`)).toBe(true);
      child.kill("SIGINT");
      expect(await exited, stderr).toBe(0);
      expect(existsSync(db)).toBe(true);
      expect(existsSync(`${db}-wal`)).toBe(false);
      expect(existsSync(`${db}-shm`)).toBe(false);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }
  }, 30_000);
});
