// GET /v1/events: each owner's changes as server-sent events, resumed with Last-Event-ID, with
// heartbeats, caps, and an end when the token expires or the server closes. Memory backend (its
// change log is kept in process); the Redis and PostgreSQL logs are in *.services tests.
import { afterEach, describe, expect, it, vi } from "vitest";
import type { SessionServer } from "../../src/server/index.ts";
import { setup, token } from "../helpers/server.ts";
import { names, readEvents, type SseReader } from "../helpers/sse.ts";

const readers: SseReader[] = [];
afterEach(async () => {
  await Promise.all(readers.splice(0).map((r) => r.close()));
});

/** Opens `GET /v1/events` as `sub`; the response, and its events once it is a stream. */
async function open(
  server: SessionServer,
  sub: string,
  headers: Record<string, string> = {},
  bearer?: string,
) {
  const response = await server.fetch(
    new Request("http://sessions.test/v1/events", {
      headers: { authorization: `Bearer ${bearer ?? (await token(sub))}`, ...headers },
    }),
  );
  if (response.status !== 200) return { response, events: undefined };
  const events = readEvents(response);
  readers.push(events);
  return { response, events };
}

const ready = (events: { event?: string }[]) => events.some((e) => e.event === "ready");
const data = (message: { data?: string } | undefined) => JSON.parse(message?.data ?? "null");

describe("GET /v1/events", () => {
  it("is a text/event-stream that says ready, with the log's head as its id", async () => {
    const { server } = setup();
    const { response, events } = await open(server, "alice");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/);
    expect(response.headers.get("cache-control")).toBe("no-cache");
    const [first] = await (events as SseReader).until(ready);
    expect(first?.event).toBe("ready");
    expect(typeof first?.id).toBe("string");
    expect(data(first)).toEqual({ cursor: first?.id });
  });

  it("needs a token: 401 without one", async () => {
    const { server } = setup();
    const response = await server.fetch(new Request("http://sessions.test/v1/events"));
    expect(response.status).toBe(401);
    expect((await response.json()).error.code).toBe("UNAUTHORIZED");
  });

  it("streams each change of the owner's sessions, named by its kind, with the session as data", async () => {
    const { server, alice } = setup();
    const events = (await open(server, "alice")).events as SseReader;
    await events.until(ready);
    expect((await alice.put("/v1/sessions/a", { data: { n: 1 } })).status).toBe(201);
    expect((await alice.post("/v1/sessions/a/touch", {})).status).toBe(200);
    expect((await alice.put("/v1/sessions/a", { data: { n: 2 } })).status).toBe(200);
    expect((await alice.delete("/v1/sessions/a")).status).toBe(200);
    const heard = await events.until((e) => e.length >= 5);
    expect(names(heard)).toEqual(["ready", "added", "touched", "updated", "removed"]);
    expect(data(heard[1])).toMatchObject({ id: "a", data: { n: 1 }, version: 1 });
    expect(data(heard[2])).toMatchObject({ id: "a", version: 2 });
    expect(data(heard[3])).toMatchObject({ id: "a", data: { n: 2 }, version: 3 });
    expect(data(heard[4])).toEqual({ id: "a" });
    const ids = heard.map((e) => e.id as string);
    for (let i = 1; i < ids.length; i++)
      expect((ids[i] as string) > (ids[i - 1] as string)).toBe(true);
  });

  it("never sends another owner's changes", async () => {
    const { server, alice, bob } = setup();
    const bobs = (await open(server, "bob")).events as SseReader;
    const alices = (await open(server, "alice")).events as SseReader;
    await Promise.all([bobs.until(ready), alices.until(ready)]);
    await alice.put("/v1/sessions/secret", { data: 1 });
    await alice.delete("/v1/sessions/secret");
    await bob.put("/v1/sessions/mine", { data: 2 });
    await bobs.until((e) => e.length >= 2);
    await alices.until((e) => e.length >= 3);
    expect(names(bobs.events)).toEqual(["ready", "added"]);
    expect(JSON.stringify(bobs.messages)).not.toContain("secret");
  });

  it("resumes after Last-Event-ID with what was missed, then says ready", async () => {
    const { server, alice } = setup();
    const first = (await open(server, "alice")).events as SseReader;
    await alice.put("/v1/sessions/a", { data: 1 });
    const [, added] = await first.until((e) => e.length >= 2);
    await first.close();
    await alice.put("/v1/sessions/b", { data: 2 });
    await alice.delete("/v1/sessions/a");
    const again = (await open(server, "alice", { "last-event-id": added?.id as string }))
      .events as SseReader;
    const heard = await again.until(ready);
    expect(names(heard)).toEqual(["added", "removed", "ready"]);
    expect(data(heard[0])).toMatchObject({ id: "b" });
    expect(data(heard[1])).toEqual({ id: "a" });
    expect(heard[2]?.id).toBe(heard[1]?.id);
  });

  it("says resync for a Last-Event-ID the log no longer holds (or never did)", async () => {
    const { server } = setup();
    const events = (await open(server, "alice", { "last-event-id": "old.000000000000001" }))
      .events as SseReader;
    const heard = await events.until(ready);
    expect(names(heard)).toEqual(["resync", "ready"]);
  });

  it("400 for a Last-Event-ID that is no event id", async () => {
    const { server } = setup();
    const { response } = await open(server, "alice", { "last-event-id": "12345" });
    expect(response.status).toBe(400);
  });

  it("sends `expired` for a session the sweep ended", async () => {
    const { server, alice } = setup({ sweepInterval: "50ms" });
    const events = (await open(server, "alice")).events as SseReader;
    await alice.put("/v1/sessions/short", { data: 1, ttl: 200 });
    const heard = await events.until((e) => e.some((m) => m.event === "expired"), 5000);
    expect(data(heard.find((m) => m.event === "expired"))).toEqual({ id: "short" });
  });

  it("writes heartbeat comments on an idle stream", async () => {
    const { server } = setup({ heartbeat: "30ms" });
    const events = (await open(server, "alice")).events as SseReader;
    await events.until(ready);
    const deadline = Date.now() + 3000;
    while (events.messages.filter((m) => m.comment === "heartbeat").length < 2) {
      if (Date.now() > deadline) throw new Error("no heartbeat");
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  });

  it("ends when the token expires", async () => {
    const { server } = setup();
    const exp = Math.floor(Date.now() / 1000) + 2;
    const bearer = await token("alice", { exp });
    const events = (await open(server, "alice", {}, bearer)).events as SseReader;
    await events.until(ready);
    await events.ended;
    expect(Date.now()).toBeGreaterThanOrEqual(exp * 1000 - 50);
  });

  it("ends every stream when the server closes, and close waits for them", async () => {
    const { server } = setup();
    const a = (await open(server, "alice")).events as SseReader;
    const b = (await open(server, "bob")).events as SseReader;
    await Promise.all([a.until(ready), b.until(ready)]);
    await server.close();
    await Promise.all([a.ended, b.ended]);
  });

  it("holds many open streams without a listener per stream on a shared signal (no MaxListeners warning)", async () => {
    const warnings: string[] = [];
    const warn = (warning: Error) => warnings.push(warning.name);
    process.on("warning", warn);
    try {
      const { server } = setup();
      const streams = await Promise.all(
        Array.from(
          { length: 15 },
          async (_, i) => (await open(server, `owner${i}`)).events as SseReader,
        ),
      );
      await Promise.all(streams.map((s) => s.until(ready)));
      await server.close();
      await Promise.all(streams.map((s) => s.ended));
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings).not.toContain("MaxListenersExceededWarning");
    } finally {
      process.off("warning", warn);
    }
  });

  it("adds no timer per open stream (one ticker for heartbeats and expiries)", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval"] });
    try {
      const { server } = setup();
      const openOne = async (sub: string) => {
        const { response } = await open(server, sub);
        expect(response.status).toBe(200);
      };
      await openOne("owner0");
      const timers = vi.getTimerCount();
      for (let i = 1; i <= 10; i++) await openOne(`owner${i}`);
      await new Promise((resolve) => setImmediate(resolve));
      expect(vi.getTimerCount()).toBe(timers);
      await server.close();
    } finally {
      vi.useRealTimers();
    }
  });

  it("caps the open streams of an owner: 429 TOO_MANY_STREAMS, room again once one ends", async () => {
    const { server } = setup({ limits: { streams: 2 } });
    const one = (await open(server, "alice")).events as SseReader;
    const two = (await open(server, "alice")).events as SseReader;
    await Promise.all([one.until(ready), two.until(ready)]);
    const third = await open(server, "alice");
    expect(third.response.status).toBe(429);
    expect((await third.response.json()).error.code).toBe("TOO_MANY_STREAMS");
    // Another owner is not held to alice's cap.
    expect((await open(server, "bob")).response.status).toBe(200);
    await one.close();
    const deadline = Date.now() + 3000;
    for (;;) {
      const retry = await open(server, "alice");
      if (retry.response.status === 200) break;
      if (Date.now() > deadline) throw new Error("the cap never made room");
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  });

  it("501 NOT_SUPPORTED on a store without a change feed", async () => {
    const { memoryStore } = await import("../../src/stores/memory.ts");
    // A store like Memcached: several processes may share it and none can tell the others.
    const { server } = setup({}, { ...memoryStore(), capabilities: { processLog: "none" } });
    const { response } = await open(server, "alice");
    expect(response.status).toBe(501);
    expect((await response.json()).error.code).toBe("NOT_SUPPORTED");
  });
});

describe("GET /v1/changes from the change log", () => {
  it("hands out the log's head beside a clock answer, then reads the log: changed and removed", async () => {
    const { alice } = setup();
    await alice.put("/v1/sessions/kept", { data: 0 });
    await alice.put("/v1/sessions/gone", { data: 0 });
    const first = await alice.get("/v1/changes?since=0");
    expect(first.body.live.sort()).toEqual(["gone", "kept"]);
    expect(typeof first.body.log).toBe("string");
    await alice.put("/v1/sessions/kept", { data: 1 });
    await alice.put("/v1/sessions/new", { data: 2 });
    await alice.delete("/v1/sessions/gone");
    const next = await alice.get(`/v1/changes?since=${encodeURIComponent(first.body.log)}`);
    expect(next.status).toBe(200);
    expect(next.body.live).toBeUndefined();
    expect(next.body.changed.map((s: { id: string }) => s.id).sort()).toEqual(["kept", "new"]);
    expect(next.body.changed.find((s: { id: string }) => s.id === "kept").data).toBe(1);
    expect(next.body.removed).toEqual(["gone"]);
    expect(next.body.more).toBeUndefined();
    const none = await alice.get(`/v1/changes?since=${encodeURIComponent(next.body.cursor)}`);
    expect(none.body).toMatchObject({ cursor: next.body.cursor, changed: [], removed: [] });
  });

  it("pages with limit: more until the log is read", async () => {
    const { alice } = setup();
    const { log } = (await alice.get("/v1/changes?since=0")).body;
    for (const id of ["a", "b", "c"]) await alice.put(`/v1/sessions/${id}`, { data: id });
    let cursor = log as string;
    const seen: string[] = [];
    for (let more = true, pages = 0; more; pages++) {
      expect(pages).toBeLessThan(5);
      const page = await alice.get(`/v1/changes?since=${encodeURIComponent(cursor)}&limit=1`);
      seen.push(...page.body.changed.map((s: { id: string }) => s.id));
      cursor = page.body.cursor;
      more = page.body.more === true;
    }
    expect(seen).toEqual(["a", "b", "c"]);
  });

  it("never shows another owner's sessions, not even as ids", async () => {
    const { alice, bob } = setup();
    const { log } = (await bob.get("/v1/changes?since=0")).body;
    await alice.put("/v1/sessions/alices", { data: 1 });
    await alice.delete("/v1/sessions/alices");
    const reply = await bob.get(`/v1/changes?since=${encodeURIComponent(log)}`);
    expect(reply.body).toMatchObject({ changed: [], removed: [] });
  });
});
