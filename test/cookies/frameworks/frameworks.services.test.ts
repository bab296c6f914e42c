// The Next.js, H3 and SvelteKit adapters on a real service: the shared behaviour suite with the
// sessions in Redis, reached through a TCP proxy that the store-failure test stops (as a crashed
// server would) and starts again. The adapters never touch the store (the core does, and
// test/cookies/sessions.services.test.ts runs it on PostgreSQL too), so one service is enough
// here. Skipped with a warning when Redis is absent, unless REQUIRE_SERVICES=1.
import { afterAll, describe } from "vitest";
import { SessionManager } from "../../../src/index.ts";
import { type Outage, proxy, requireService, runId, services } from "../../helpers/services.ts";
import { type Backend, testCookieSessions } from "../behaviour.ts";
import type { AppData } from "../routes.ts";
import { frameworkApps } from "./apps.ts";

const redisUp = await requireService("redis");
const namespace = runId();
const outages: Outage[] = [];
afterAll(async () => {
  await Promise.all(outages.map((outage) => outage.stop()));
});

/** A backend whose managers reach the service through a proxy the suite can stop. */
async function behindProxy(
  name: string,
  host: string,
  port: number,
  manager: (port: number) => SessionManager<AppData>,
): Promise<Backend> {
  const outage = await proxy(host, port);
  outages.push(outage);
  return {
    name,
    manager: () => manager(outage.port),
    setDown: (down) => void (down ? outage.stop() : outage.start()),
  };
}

describe.skipIf(!redisUp)("on Redis", async () => {
  const { host, port } = services.redis;
  const backend = await behindProxy("Redis", host, port, (through) => {
    return new SessionManager<AppData>({ backend: "redis", host, port: through, namespace });
  });
  for (const { name, serve } of frameworkApps) testCookieSessions(name, serve, backend);
});
