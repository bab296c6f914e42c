// Cookie sessions on the real services: the shared behaviour suite through each adapter, with
// the sessions in Redis and in PostgreSQL, reached through a TCP proxy that the store-failure
// test stops (as a crashed server would) and starts again. Skipped with a warning when a
// service is absent, unless REQUIRE_SERVICES=1.
import { afterAll, describe } from "vitest";
import { SessionManager } from "../../src/index.ts";
import { type Outage, proxy, requireService, runId, services } from "../helpers/services.ts";
import { frameworks } from "./apps.ts";
import { testCookieSessions } from "./behaviour.ts";
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
