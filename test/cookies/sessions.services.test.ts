// Cookie sessions on the real services: the shared behaviour suite through each adapter, with
// the sessions in Redis and in PostgreSQL, reached through a TCP proxy that the store-failure
// test stops (as a crashed server would) and starts again. Skipped with a warning when a
// service is absent, unless REQUIRE_SERVICES=1. And two servers with managers of their own on one
// Redis, as two processes behind a load balancer.
import { afterAll, describe, expect, it } from "vitest";
import { cookieSessions } from "../../src/cookies/index.ts";
import { SessionManager } from "../../src/index.ts";
import { type Outage, proxy, requireService, runId, services } from "../helpers/services.ts";
import { frameworks, serveFastify, serveHono } from "./apps.ts";
import { testCookieSessions } from "./behaviour.ts";
import { Browser, SECRET } from "./helpers.ts";
import type { AppData } from "./routes.ts";

const [redisUp, postgresUp] = [await requireService("redis"), await requireService("postgres")];
const namespace = runId();
const outages: Outage[] = [];
afterAll(async () => {
  await Promise.all(outages.map((outage) => outage.stop()));
});

async function through(host: string, port: number): Promise<Outage> {
  const outage = await proxy(host, port);
  outages.push(outage);
  return outage;
}

describe.skipIf(!redisUp)("on Redis", async () => {
  const { host, port } = services.redis;
  const outage = redisUp ? await through(host, port) : undefined;
  for (const { name, serve } of frameworks) {
    testCookieSessions(name, serve, {
      name: "Redis",
      manager: () =>
        new SessionManager<AppData>({
          backend: "redis",
          host,
          port: outage?.port ?? port,
          namespace,
        }),
      setDown: (down) => (down ? outage?.stop() : outage?.start()),
    });
  }
});

describe.skipIf(!postgresUp)("on PostgreSQL", async () => {
  const url = new URL(services.postgres.url);
  const outage = postgresUp ? await through(url.hostname, Number(url.port || 5432)) : undefined;
  if (outage) url.port = String(outage.port);
  for (const { name, serve } of frameworks) {
    testCookieSessions(name, serve, {
      name: "PostgreSQL",
      manager: () => new SessionManager<AppData>({ backend: "postgres", url: url.href, namespace }),
      setDown: (down) => (down ? outage?.stop() : outage?.start()),
    });
  }
});

describe.skipIf(!redisUp)(
  "two servers on one Redis (as two processes behind a load balancer)",
  () => {
    it("sign in on one, read, rotate and sign out on the other", async () => {
      const { host, port } = services.redis;
      const options = { backend: "redis", host, port, namespace: `${namespace}-two` } as const;
      const one = cookieSessions<AppData>({ secret: SECRET, store: options });
      const two = cookieSessions<AppData>({ secret: SECRET, store: options });
      const [a, b] = [await serveHono(one), await serveFastify(two)];
      try {
        const onA = new Browser(a.url);
        const me = await onA.post<{ id: string }>("/login", { user: "ada" });
        const onB = new Browser(b.url);
        for (const [name, value] of onA.cookies) onB.cookies.set(name, value);
        expect(await onB.json("/me")).toMatchObject({ id: me.id, data: { user: "ada" } });
        const rotated = await onB.post<{ id: string }>("/login", { user: "ada" });
        expect(rotated.id).not.toBe(me.id);
        expect((await onA.json<{ id?: string }>("/me")).id).toBeUndefined(); // A's copy is the old id
        for (const [name, value] of onB.cookies) onA.cookies.set(name, value);
        expect((await onA.json<{ id?: string }>("/me")).id).toBe(rotated.id);
        await onA.post("/logout");
        expect((await onB.json<{ id?: string }>("/me")).id).toBeUndefined();
      } finally {
        await Promise.all([a.close(), b.close()]);
        await Promise.all([one.close(), two.close()]);
      }
    });
  },
);
