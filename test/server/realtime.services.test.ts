// Realtime across server processes: two processes on one Redis, and on one PostgreSQL; a change
// made through the first reaches an event stream held on the second, in order, never another
// owner's; a stream resumes on any process with Last-Event-ID; the change feed reads the same
// log. Memcached has no channel: 501, and its clients poll.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { token } from "../helpers/server.ts";
import { type ServerProcess, startServerProcess } from "../helpers/server-process.ts";
import { requireServices, runId, services } from "../helpers/services.ts";
import { names, openStream, type SseReader } from "../helpers/sse.ts";

const SECRET = "test-secret-that-is-long-enough-32+";
const up = await requireServices();

const backends = [
  {
    name: "redis",
    up: up.redis,
    options: { backend: "redis", url: `redis://${services.redis.host}:${services.redis.port}` },
  },
  {
    name: "postgres",
    up: up.postgres,
    options: { backend: "postgres", url: services.postgres.url },
  },
] as const;

const readers: SseReader[] = [];
afterEach(async () => {
  await Promise.all(readers.splice(0).map((r) => r.close()));
});

/** `GET /v1/events` on `url` as `sub`, ready, closed after the test. */
async function events(url: string, sub: string, lastEventId?: string): Promise<SseReader> {
  const reader = await openStream(url, await token(sub), lastEventId);
  readers.push(reader);
  return reader;
}

/** One request to `url` as `sub`; the JSON answer. */
async function call(url: string, sub: string, method: string, path: string, body?: unknown) {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${await token(sub)}`, "content-type": "application/json" },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: await response.json() };
}

for (const backend of backends) {
  describe.skipIf(!backend.up)(`realtime across two server processes on ${backend.name}`, () => {
    let one: ServerProcess;
    let two: ServerProcess;
    beforeAll(async () => {
      const options = {
        ...backend.options,
        namespace: `rt-${runId()}`,
        auth: { secret: SECRET },
        sweepInterval: "200ms",
        ...(backend.name === "postgres" && { table: `rt_${runId().replace(/\W/g, "_")}` }),
      };
      [one, two] = await Promise.all([startServerProcess(options), startServerProcess(options)]);
    }, 30_000);
    afterAll(async () => {
      await Promise.all([one?.stop(), two?.stop()]);
    });

    it("a change made through one process reaches a stream on the other, in order, and no other owner", async () => {
      const alice = await events(two.url, "alice");
      const bob = await events(two.url, "bob");
      const aliceOnOne = await events(one.url, "alice");
      expect(
        (await call(one.url, "alice", "PUT", "/v1/sessions/s1", { data: { n: 1 } })).status,
      ).toBe(201);
      expect((await call(one.url, "alice", "POST", "/v1/sessions/s1/touch", {})).status).toBe(200);
      expect(
        (await call(one.url, "alice", "PUT", "/v1/sessions/s1", { data: { n: 2 } })).status,
      ).toBe(200);
      expect((await call(one.url, "alice", "DELETE", "/v1/sessions/s1")).status).toBe(200);
      const expected = ["ready", "added", "touched", "updated", "removed"];
      const heard = await alice.until((e) => e.length >= expected.length);
      expect(names(heard)).toEqual(expected);
      expect(JSON.parse(heard[1]?.data ?? "{}")).toMatchObject({ id: "s1", data: { n: 1 } });
      expect(JSON.parse(heard[4]?.data ?? "{}")).toEqual({ id: "s1" });
      // The process that made the change streams it too, with the same ids (one log).
      const local = await aliceOnOne.until((e) => e.length >= expected.length);
      expect(local.slice(1).map((e) => e.id)).toEqual(heard.slice(1).map((e) => e.id));
      expect(names(bob.events)).toEqual(["ready"]);
      expect(JSON.stringify(bob.messages)).not.toContain("s1");
    });

    it("resumes on either process after Last-Event-ID, with what was missed", async () => {
      const first = await events(two.url, "carol");
      await call(one.url, "carol", "PUT", "/v1/sessions/a", { data: 1 });
      const [, added] = await first.until((e) => e.length >= 2);
      await first.close();
      await call(two.url, "carol", "PUT", "/v1/sessions/b", { data: 2 });
      await call(one.url, "carol", "DELETE", "/v1/sessions/a");
      const again = await events(one.url, "carol", added?.id);
      expect(names(again.events)).toEqual(["added", "removed", "ready"]);
      expect(JSON.parse(again.events[0]?.data ?? "{}")).toMatchObject({ id: "b" });
    });

    it("GET /v1/changes on one process reads what the other wrote, from the same log", async () => {
      const first = await call(two.url, "dave", "GET", "/v1/changes?since=0");
      expect(typeof first.body.log).toBe("string");
      await call(one.url, "dave", "PUT", "/v1/sessions/x", { data: 1 });
      await call(one.url, "dave", "PUT", "/v1/sessions/y", { data: 1 });
      await call(one.url, "dave", "DELETE", "/v1/sessions/y");
      const next = await call(
        two.url,
        "dave",
        "GET",
        `/v1/changes?since=${encodeURIComponent(first.body.log)}`,
      );
      expect(next.body.changed.map((s: { id: string }) => s.id)).toEqual(["x"]);
      expect(next.body.removed).toEqual(["y"]);
    });

    it("streams `expired` when a process's sweep ends a session", async () => {
      const stream = await events(two.url, "erin");
      await call(one.url, "erin", "PUT", "/v1/sessions/short", { data: 1, ttl: 300 });
      const heard = await stream.until((e) => e.some((m) => m.event === "expired"), 10_000);
      expect(JSON.parse(heard.find((m) => m.event === "expired")?.data ?? "{}")).toEqual({
        id: "short",
      });
    });
  });
}

describe.skipIf(!up.memcached)("realtime on memcached", () => {
  it("has no change feed: GET /v1/events answers 501 NOT_SUPPORTED, and clients poll", async () => {
    const server = await startServerProcess({
      backend: "memcached",
      url: `${services.memcached.host}:${services.memcached.port}`,
      namespace: `rt-${runId()}`,
      auth: { secret: SECRET },
    });
    try {
      const response = await fetch(`${server.url}/v1/events`, {
        headers: { authorization: `Bearer ${await token("alice")}` },
      });
      expect(response.status).toBe(501);
      expect((await response.json()).error.code).toBe("NOT_SUPPORTED");
      const changes = await call(server.url, "alice", "GET", "/v1/changes?since=0");
      expect(changes.status).toBe(200);
      expect(changes.body.log).toBeUndefined();
    } finally {
      await server.stop();
    }
  });
});
