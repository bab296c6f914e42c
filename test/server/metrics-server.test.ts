// GET /metrics and GET /health through createSessionServer(...).fetch: off by default, the
// counts of real requests (route patterns, never ids), the token, open event streams, and the
// store check. The registry and the text format alone are in metrics.test.ts.
import { afterEach, describe, expect, it, vi } from "vitest";
import { createSessionServer, type SessionServer } from "../../src/server/index.ts";
import { memoryStore } from "../../src/stores/memory.ts";
import type { SessionStore } from "../../src/stores/types.ts";
import { SECRET, setup, token } from "../helpers/server.ts";
import { readEvents, type SseReader } from "../helpers/sse.ts";

const TOKEN = "mT4q9vZ2xR7kL1pW8sN3bC6yH0dF5gJ+/_-.~";
const BASE = "http://sessions.test";

const readers: SseReader[] = [];
afterEach(async () => {
  await Promise.all(readers.splice(0).map((r) => r.close()));
});

async function get(server: SessionServer, path: string, headers: Record<string, string> = {}) {
  const response = await server.fetch(new Request(`${BASE}${path}`, { headers }));
  return { status: response.status, text: await response.text(), headers: response.headers };
}

/** The value of the one sample whose line starts with `prefix` (name and labels). */
function sample(text: string, prefix: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(prefix));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(" ") + 1));
}

describe("the operations routes of createSessionServer", () => {
  it("are off by default: /metrics and /health are 404", async () => {
    const { server } = setup();
    expect((await get(server, "/metrics")).status).toBe(404);
    expect((await get(server, "/health")).status).toBe(404);
  });

  it("count the API's requests by route pattern, status and error code, never by session id", async () => {
    const { server, alice } = setup({ metrics: true });
    expect((await alice.put("/v1/sessions/secret-id-1", { data: 1 })).status).toBe(201);
    expect((await alice.get("/v1/sessions/secret-id-1")).status).toBe(200);
    expect((await alice.get("/v1/sessions/secret-id-2")).status).toBe(404);
    expect((await get(server, "/v1/sessions")).status).toBe(401);
    expect((await get(server, "/nowhere/secret-id-3")).status).toBe(404);
    const { status, text, headers } = await get(server, "/metrics");
    expect(status).toBe(200);
    expect(headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    expect(text).not.toMatch(/secret-id/);
    const requests = "sessionmanager_requests_total";
    const route = (r: string, method: string, code: number) =>
      sample(text, `${requests}{method="${method}",route="${r}",status="${code}"}`);
    expect(route("/v1/sessions/:id", "PUT", 201)).toBe(1);
    expect(route("/v1/sessions/:id", "GET", 200)).toBe(1);
    expect(route("/v1/sessions/:id", "GET", 404)).toBe(1);
    expect(route("/v1/sessions", "GET", 401)).toBe(1);
    expect(route("unmatched", "GET", 404)).toBe(1);
    const errors = "sessionmanager_errors_total";
    expect(sample(text, `${errors}{code="SESSION_NOT_FOUND"}`)).toBe(1);
    expect(sample(text, `${errors}{code="UNAUTHORIZED"}`)).toBe(1);
    expect(sample(text, `${errors}{code="NOT_FOUND"}`)).toBe(1);
    const count = `sessionmanager_request_duration_seconds_count{method="GET",route="/v1/sessions/:id"}`;
    expect(sample(text, count)).toBe(2);
    expect(sample(text, "sessionmanager_store_up")).toBe(1);
  });

  it("ask for the metrics token when one is set, and not for a JWT", async () => {
    const { server } = setup({ metrics: { token: TOKEN } });
    expect((await get(server, "/metrics")).status).toBe(401);
    const jwt = await token("alice");
    expect((await get(server, "/metrics", { authorization: `Bearer ${jwt}` })).status).toBe(401);
    const answer = await get(server, "/metrics", { authorization: `Bearer ${TOKEN}` });
    expect(answer.status).toBe(200);
    expect(answer.text).toContain("# TYPE sessionmanager_requests_total counter");
  });

  it("sit under basePath", async () => {
    const { server } = setup({ metrics: true, health: true, basePath: "/api" });
    expect((await get(server, "/api/metrics")).status).toBe(200);
    expect((await get(server, "/api/health")).status).toBe(200);
    expect((await get(server, "/metrics")).status).toBe(404);
  });

  it("count open event streams", async () => {
    const { server } = setup({ metrics: true });
    const response = await server.fetch(
      new Request(`${BASE}/v1/events`, {
        headers: { authorization: `Bearer ${await token("a")}` },
      }),
    );
    expect(response.status).toBe(200);
    const events = readEvents(response);
    readers.push(events);
    await events.until((e) => e.some((m) => m.event === "ready"));
    let text = (await get(server, "/metrics")).text;
    expect(sample(text, "sessionmanager_open_streams ")).toBe(1);
    expect(sample(text, "sessionmanager_streams_opened_total ")).toBe(1);
    await events.close();
    await vi.waitFor(async () => {
      text = (await get(server, "/metrics")).text;
      expect(sample(text, "sessionmanager_open_streams ")).toBe(0);
    });
    expect(sample(text, "sessionmanager_streams_opened_total ")).toBe(1);
  });

  it("say whether the store answers: /health 200, 503 when its reads fail, 503 once closed", async () => {
    const inner = memoryStore();
    let failing = false;
    const store: SessionStore = {
      ...inner,
      get: async (id) => {
        if (failing) throw new Error("ECONNREFUSED 10.0.0.7:6379");
        return inner.get(id);
      },
    };
    const server = createSessionServer({
      backend: store,
      auth: { secret: SECRET },
      health: true,
      metrics: true,
    });
    expect(await get(server, "/health")).toMatchObject({ status: 200, text: '{"status":"ok"}' });
    failing = true;
    const down = await get(server, "/health");
    expect(down).toMatchObject({ status: 503, text: '{"status":"unavailable"}' });
    expect(sample((await get(server, "/metrics")).text, "sessionmanager_store_up")).toBe(0);
    failing = false;
    expect((await get(server, "/health")).status).toBe(200);
    await server.close();
    expect(await get(server, "/health")).toMatchObject({ status: 503 });
  });

  it("refuse bad options at once, before the store is opened", () => {
    const open = vi.fn();
    const store: SessionStore = { ...memoryStore(), open };
    for (const metrics of [{ token: "short" }, {}, "yes"]) {
      expect(() =>
        createSessionServer({
          backend: store,
          auth: { secret: SECRET },
          metrics: metrics as { token: string },
        }),
      ).toThrow(TypeError);
    }
    expect(open).not.toHaveBeenCalled();
  });
});
