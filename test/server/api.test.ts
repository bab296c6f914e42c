import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { TIME_HEADER } from "../../src/protocol.ts";
import { call, setup } from "../helpers/server.ts";

const T0 = Date.UTC(2026, 0, 1);
const MINUTE = 60_000;
const JWE = "eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..aXYtaXYtaXYtaXY.Y2lwaGVy.dGFndGFndGFndGFn";

beforeEach(() => {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(T0);
});
afterEach(() => vi.useRealTimers());

const later = (ms: number) => vi.setSystemTime(Date.now() + ms);

describe("PUT /v1/sessions/:id", () => {
  it("creates a session (201) with the server's times, version 1 and an ETag", async () => {
    const { alice } = setup({ defaultTtl: "15m" });
    const reply = await alice.put("/v1/sessions/user123", { data: { name: "Ada" } });
    expect(reply.status).toBe(201);
    expect(reply.body).toEqual({
      session: {
        id: "user123",
        data: { name: "Ada" },
        createdAt: T0,
        updatedAt: T0,
        expiresAt: T0 + 15 * MINUTE,
        ttl: 15 * MINUTE,
        version: 1,
      },
    });
    expect(reply.headers.get("etag")).toBe('"1"');
    expect(reply.headers.get(TIME_HEADER)).toBe(String(T0));
    expect(reply.headers.get("content-type")).toMatch(/^application\/json/);
  });

  it("stores null when data is left out, and accepts an empty body", async () => {
    const { alice } = setup();
    const reply = await alice.put("/v1/sessions/a");
    expect(reply.status).toBe(201);
    expect(reply.body.session.data).toBeNull();
    expect(reply.body.session.ttl).toBe(30 * MINUTE);
  });

  it("replaces a live session (200): version + 1, createdAt kept, a new ttl restarts expiry", async () => {
    const { alice } = setup();
    await alice.put("/v1/sessions/a", { data: 1, ttl: 10 * MINUTE });
    later(MINUTE);
    const reply = await alice.put("/v1/sessions/a", { data: 2, ttl: 20 * MINUTE });
    expect(reply.status).toBe(200);
    expect(reply.body.session).toMatchObject({
      data: 2,
      createdAt: T0,
      updatedAt: T0 + MINUTE,
      expiresAt: T0 + 21 * MINUTE,
      ttl: 20 * MINUTE,
      version: 2,
    });
    expect(reply.headers.get("etag")).toBe('"2"');
  });

  it("takes the default ttl when a replace sends none", async () => {
    const { alice } = setup({ defaultTtl: "30m" });
    await alice.put("/v1/sessions/a", { data: 1, ttl: 10 * MINUTE });
    later(MINUTE);
    const reply = await alice.put("/v1/sessions/a", { data: 2 });
    expect(reply.body.session).toMatchObject({
      expiresAt: T0 + 31 * MINUTE,
      ttl: 30 * MINUTE,
      version: 2,
    });
  });

  it("keeps the expiresAt a client sends (an update that keeps its expiry)", async () => {
    const { alice } = setup();
    await alice.put("/v1/sessions/a", { data: 1, ttl: 10 * MINUTE });
    later(MINUTE);
    const body = { data: 2, ttl: 10 * MINUTE, expiresAt: T0 + 10 * MINUTE };
    const reply = await alice.put("/v1/sessions/a", body, { headers: { "if-match": '"1"' } });
    expect(reply.status).toBe(200);
    expect(reply.body.session).toMatchObject({
      data: 2,
      updatedAt: T0 + MINUTE,
      expiresAt: T0 + 10 * MINUTE,
      ttl: 10 * MINUTE,
      version: 2,
    });
  });

  it("400 INVALID_TTL for an expiresAt that is not in the future; caps it at maxTtl", async () => {
    const { alice, store } = setup({ maxTtl: "1h" });
    for (const expiresAt of [T0, T0 - 1, "soon", 9e15]) {
      const reply = await alice.put("/v1/sessions/a", { expiresAt });
      expect(reply.status, String(expiresAt)).toBe(400);
      expect(reply.body.error.code).toBe("INVALID_TTL");
    }
    expect(await store.list()).toEqual([]);
    const far = await alice.put("/v1/sessions/a", { expiresAt: T0 + 5 * 3_600_000 });
    expect(far.body.session.expiresAt).toBe(T0 + 3_600_000);
  });

  it("with If-None-Match: * creates only: 409 SESSION_EXISTS on a live id, nothing changed", async () => {
    const { alice } = setup();
    const create = { headers: { "if-none-match": "*" } };
    expect((await alice.put("/v1/sessions/a", { data: 1 }, create)).status).toBe(201);
    const reply = await alice.put("/v1/sessions/a", { data: 2 }, create);
    expect(reply.status).toBe(409);
    expect(reply.body.error.code).toBe("SESSION_EXISTS");
    expect(reply.body.error.message).toContain('"a"');
    expect((await alice.get("/v1/sessions/a")).body.session).toMatchObject({ data: 1, version: 1 });
  });

  it("with If-Match replaces only at that version: 412 CONFLICT with the current session", async () => {
    const { alice } = setup();
    await alice.put("/v1/sessions/a", { data: 1 });
    await alice.put("/v1/sessions/a", { data: 2 });
    const stale = await alice.put(
      "/v1/sessions/a",
      { data: 3 },
      { headers: { "if-match": '"1"' } },
    );
    expect(stale.status).toBe(412);
    expect(stale.body.error.code).toBe("CONFLICT");
    expect(stale.body.session).toMatchObject({ id: "a", data: 2, version: 2 });
    expect(stale.headers.get("etag")).toBe('"2"');
    expect((await alice.get("/v1/sessions/a")).body.session).toMatchObject({ data: 2, version: 2 });

    const fresh = await alice.put(
      "/v1/sessions/a",
      { data: 3 },
      { headers: { "if-match": '"2"' } },
    );
    expect(fresh.status).toBe(200);
    expect(fresh.body.session).toMatchObject({ data: 3, version: 3 });
  });

  it("412 without a session for If-Match on an id with no live session", async () => {
    const { alice } = setup();
    for (const ifMatch of ['"1"', "*"]) {
      const reply = await alice.put(
        "/v1/sessions/a",
        { data: 1 },
        { headers: { "if-match": ifMatch } },
      );
      expect(reply.status).toBe(412);
      expect(reply.body.session).toBeUndefined();
    }
    expect((await alice.get("/v1/sessions/a")).status).toBe(404);
  });

  it("stores encrypted data (a compact JWE) as is, marked encrypted", async () => {
    const { alice, store } = setup();
    const reply = await alice.put("/v1/sessions/a", { data: JWE, encrypted: true });
    expect(reply.status).toBe(201);
    expect(reply.body.session).toMatchObject({ data: JWE, encrypted: true });
    expect(await store.get("alice/a")).toMatchObject({ data: JWE, encrypted: true });
    const touched = await alice.post("/v1/sessions/a/touch");
    expect(touched.body.session.encrypted).toBe(true);
    const plain = await alice.put("/v1/sessions/a", { data: "clear" });
    expect(plain.body.session.encrypted).toBeUndefined();
  });

  it("caps a ttl at maxTtl", async () => {
    const { alice } = setup({ maxTtl: "1h", defaultTtl: "2h" });
    expect((await alice.put("/v1/sessions/a", { ttl: 5 * 3_600_000 })).body.session.ttl).toBe(
      3_600_000,
    );
    expect((await alice.put("/v1/sessions/b")).body.session.ttl).toBe(3_600_000);
    const touched = await alice.post("/v1/sessions/a/touch", { ttl: 7 * 3_600_000 });
    expect(touched.body.session.expiresAt).toBe(T0 + 3_600_000);
  });

  it("caps ttl and expiresAt at 400 days without a maxTtl option, so every expiresAt is a valid date", async () => {
    const { alice } = setup();
    const day = 86_400_000;
    const put = await alice.put("/v1/sessions/a", { ttl: 864e13 });
    expect(put.status).toBe(201);
    expect(put.body.session).toMatchObject({ ttl: 400 * day, expiresAt: T0 + 400 * day });
    const far = await alice.put("/v1/sessions/b", { expiresAt: 864e13 });
    expect(far.body.session.expiresAt).toBe(T0 + 400 * day);
    const touched = await alice.post("/v1/sessions/a/touch", { ttl: "1000d" });
    expect(touched.body.session.expiresAt).toBe(T0 + 400 * day);
  });

  it("takes a ttl as a Duration string in PUT and touch, as the SDK does, capped at maxTtl", async () => {
    const { alice } = setup({ maxTtl: "1h" });
    const put = await alice.put("/v1/sessions/a", { ttl: "15m" });
    expect(put.status).toBe(201);
    expect(put.body.session).toMatchObject({ ttl: 900_000, expiresAt: T0 + 900_000 });
    const touched = await alice.post("/v1/sessions/a/touch", { ttl: "30m" });
    expect(touched.body.session.expiresAt).toBe(T0 + 1_800_000);
    expect((await alice.put("/v1/sessions/b", { ttl: "1.5h" })).body.session.ttl).toBe(3_600_000);
    const capped = await alice.post("/v1/sessions/a/touch", { ttl: "7d" });
    expect(capped.body.session.expiresAt).toBe(T0 + 3_600_000);
  });

  it("takes ids with slashes, percent signs and any Unicode, as the client encoded them", async () => {
    const { alice } = setup();
    for (const id of ["a/b", "50%", "ünï ✓", "x/touch"]) {
      const path = `/v1/sessions/${encodeURIComponent(id)}`;
      expect((await alice.put(path, { data: id })).body.session.id).toBe(id);
      expect((await alice.get(path)).body.session.data).toBe(id);
    }
    const listed = (await alice.get("/v1/sessions")).body.sessions.map((s: { id: string }) => s.id);
    expect(listed.sort()).toEqual(["50%", "a/b", "x/touch", "ünï ✓"].sort());
  });
});

describe("GET, touch, DELETE of one session", () => {
  it("GET: 200 with an ETag, 404 SESSION_NOT_FOUND for an unknown id", async () => {
    const { alice } = setup();
    await alice.put("/v1/sessions/a", { data: [1, 2] });
    const found = await alice.get("/v1/sessions/a");
    expect(found.status).toBe(200);
    expect(found.body.session).toMatchObject({ id: "a", data: [1, 2], version: 1 });
    expect(found.headers.get("etag")).toBe('"1"');
    const missing = await alice.get("/v1/sessions/b");
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({
      error: { code: "SESSION_NOT_FOUND", message: 'no live session with id "b"' },
    });
  });

  it("touch: expiresAt = now + (ttl ?? the session's ttl), ttl kept, version + 1", async () => {
    const { alice } = setup();
    await alice.put("/v1/sessions/a", { ttl: 10 * MINUTE });
    later(5 * MINUTE);
    const own = await alice.post("/v1/sessions/a/touch");
    expect(own.status).toBe(200);
    expect(own.body.session).toMatchObject({
      updatedAt: T0 + 5 * MINUTE,
      expiresAt: T0 + 15 * MINUTE,
      ttl: 10 * MINUTE,
      version: 2,
    });
    expect(own.headers.get("etag")).toBe('"2"');
    const longer = await alice.post("/v1/sessions/a/touch", { ttl: 60 * MINUTE });
    expect(longer.body.session).toMatchObject({ expiresAt: T0 + 65 * MINUTE, ttl: 10 * MINUTE });
    expect((await alice.post("/v1/sessions/nope/touch")).status).toBe(404);
  });

  it("touch honours If-Match", async () => {
    const { alice } = setup();
    await alice.put("/v1/sessions/a");
    const stale = await alice.post("/v1/sessions/a/touch", {}, { headers: { "if-match": '"7"' } });
    expect(stale.status).toBe(412);
    expect(stale.body.session.version).toBe(1);
  });

  it("DELETE: 200 { removed: true }, then 404", async () => {
    const { alice } = setup();
    await alice.put("/v1/sessions/a");
    const removed = await alice.delete("/v1/sessions/a");
    expect(removed.status).toBe(200);
    expect(removed.body).toEqual({ removed: true });
    expect((await alice.get("/v1/sessions/a")).status).toBe(404);
    expect((await alice.delete("/v1/sessions/a")).body.error.code).toBe("SESSION_NOT_FOUND");
  });

  it("DELETE with a stale If-Match: 412 with the session, which stays", async () => {
    const { alice } = setup();
    await alice.put("/v1/sessions/a", { data: 1 });
    await alice.post("/v1/sessions/a/touch");
    const stale = await alice.delete("/v1/sessions/a", { headers: { "if-match": '"1"' } });
    expect(stale.status).toBe(412);
    expect(stale.body.session.version).toBe(2);
    expect((await alice.get("/v1/sessions/a")).status).toBe(200);
    const fresh = await alice.delete("/v1/sessions/a", { headers: { "if-match": '"2"' } });
    expect(fresh.status).toBe(200);
  });
});

describe("maxAge: the cap on a session's whole lifetime", () => {
  it("PUT carries maxAge (ms or a Duration) on the wire and caps expiresAt at createdAt + maxAge", async () => {
    const { alice } = setup();
    const made = await alice.put("/v1/sessions/a", { ttl: 10 * MINUTE, maxAge: "25m" });
    expect(made.status).toBe(201);
    expect(made.body.session).toMatchObject({ createdAt: T0, expiresAt: T0 + 10 * MINUTE });
    expect(made.body.session.maxAge).toBe(25 * MINUTE);
    expect((await alice.get("/v1/sessions/a")).body.session.maxAge).toBe(25 * MINUTE);
    expect((await alice.get("/v1/sessions")).body.sessions[0].maxAge).toBe(25 * MINUTE);
    const short = await alice.put("/v1/sessions/b", { ttl: 10 * MINUTE, maxAge: 4 * MINUTE });
    expect(short.body.session.expiresAt).toBe(T0 + 4 * MINUTE);
    // Without maxAge the wire is as it was: no field at all.
    const plain = await alice.put("/v1/sessions/c");
    expect("maxAge" in plain.body.session).toBe(false);
  });

  it("no touch moves expiresAt past createdAt + maxAge; at the cap the session still ends", async () => {
    const { alice } = setup();
    await alice.put("/v1/sessions/a", { ttl: 10 * MINUTE, maxAge: 25 * MINUTE });
    later(8 * MINUTE);
    const first = await alice.post("/v1/sessions/a/touch");
    expect(first.body.session.expiresAt).toBe(T0 + 18 * MINUTE);
    later(8 * MINUTE);
    const capped = await alice.post("/v1/sessions/a/touch", { ttl: 60 * MINUTE });
    expect(capped.body.session).toMatchObject({ expiresAt: T0 + 25 * MINUTE, version: 3 });
    later(8 * MINUTE);
    expect((await alice.post("/v1/sessions/a/touch")).body.session.expiresAt).toBe(
      T0 + 25 * MINUTE,
    );
    later(MINUTE);
    expect((await alice.post("/v1/sessions/a/touch")).status).toBe(404);
    expect((await alice.get("/v1/sessions/a")).status).toBe(404);
  });

  it("a replace keeps the stored cap without maxAge, may lower it, never lifts it", async () => {
    const { alice } = setup();
    await alice.put("/v1/sessions/a", { ttl: 10 * MINUTE, maxAge: 20 * MINUTE });
    later(5 * MINUTE);
    const kept = await alice.put("/v1/sessions/a", { data: 2, ttl: 60 * MINUTE });
    expect(kept.body.session).toMatchObject({ maxAge: 20 * MINUTE, expiresAt: T0 + 20 * MINUTE });
    const lifted = await alice.put("/v1/sessions/a", { data: 3, maxAge: "1d" });
    expect(lifted.body.session).toMatchObject({ maxAge: 20 * MINUTE, expiresAt: T0 + 20 * MINUTE });
    const lowered = await alice.put("/v1/sessions/a", { data: 4, maxAge: 10 * MINUTE });
    expect(lowered.body.session).toMatchObject({
      maxAge: 10 * MINUTE,
      expiresAt: T0 + 10 * MINUTE,
    });
  });

  it("a create may say when the session began (a rotation), never later than now", async () => {
    const { alice } = setup();
    const rotated = await alice.put(
      "/v1/sessions/new",
      { ttl: 10 * MINUTE, maxAge: 20 * MINUTE, createdAt: T0 - 15 * MINUTE },
      { headers: { "if-none-match": "*" } },
    );
    expect(rotated.body.session).toMatchObject({
      createdAt: T0 - 15 * MINUTE,
      expiresAt: T0 + 5 * MINUTE,
    });
    const future = await alice.put("/v1/sessions/f", {
      maxAge: 20 * MINUTE,
      createdAt: T0 + MINUTE,
    });
    expect(future.body.session.createdAt).toBe(T0);
    // A lifetime that has already ended makes no session.
    const over = await alice.put("/v1/sessions/g", { maxAge: MINUTE, createdAt: T0 - 2 * MINUTE });
    expect(over.status).toBe(400);
    expect(over.body.error.code).toBe("INVALID_TTL");
  });

  it("400 INVALID_TTL for a maxAge that is not a positive duration, 400 for a bad createdAt; nothing stored", async () => {
    const { alice, store } = setup();
    for (const maxAge of [0, -1, "soon", true, 9e15]) {
      const reply = await alice.put("/v1/sessions/a", { maxAge });
      expect(reply.status, String(maxAge)).toBe(400);
      expect(reply.body.error.code).toBe("INVALID_TTL");
      expect(reply.body.error.message).toMatch(/^maxAge must be/);
    }
    for (const createdAt of [-1, "yesterday"]) {
      const reply = await alice.put("/v1/sessions/a", { maxAge: MINUTE, createdAt });
      expect(reply.status, String(createdAt)).toBe(400);
      expect(reply.body.error.message).toMatch(/^createdAt must be epoch milliseconds/);
    }
    expect(await store.list()).toEqual([]);
  });
});

describe("expiry", () => {
  it("an expired session reads as absent everywhere and can be created again", async () => {
    const { alice, store } = setup();
    await alice.put("/v1/sessions/a", { data: "old", ttl: MINUTE });
    later(MINUTE);
    expect((await alice.get("/v1/sessions/a")).status).toBe(404);
    expect((await alice.post("/v1/sessions/a/touch")).status).toBe(404);
    expect((await alice.delete("/v1/sessions/a")).status).toBe(404);
    expect((await alice.get("/v1/sessions")).body.sessions).toEqual([]);
    expect((await alice.get("/v1/changes")).body.live).toEqual([]);
    expect(await store.get("alice/a")).toBeDefined(); // not swept yet

    const again = await alice.put(
      "/v1/sessions/a",
      { data: "new" },
      { headers: { "if-none-match": "*" } },
    );
    expect(again.status).toBe(201);
    // The version after the expired record's, not 1 again: a (key, version) pair is never reused.
    expect(again.body.session).toMatchObject({ data: "new", version: 2, createdAt: T0 + MINUTE });
  });
});

describe("GET and DELETE /v1/sessions", () => {
  it("lists the owner's live sessions", async () => {
    const { alice } = setup();
    await alice.put("/v1/sessions/a", { data: 1 });
    await alice.put("/v1/sessions/b", { data: 2, ttl: 1000 });
    await alice.put("/v1/sessions/c", { data: 3 });
    later(1000);
    const reply = await alice.get("/v1/sessions");
    expect(reply.status).toBe(200);
    expect(reply.headers.get("etag")).toBeNull();
    expect(reply.body.sessions.map((s: { id: string }) => s.id).sort()).toEqual(["a", "c"]);
  });

  it("clears the owner's sessions and counts the live ones", async () => {
    const { alice, store } = setup();
    await alice.put("/v1/sessions/a");
    await alice.put("/v1/sessions/b");
    await alice.put("/v1/sessions/old", { ttl: 1000 });
    later(1000);
    const reply = await alice.delete("/v1/sessions");
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ removed: 2 });
    expect(await store.list()).toEqual([]);
    expect((await alice.get("/v1/sessions")).body.sessions).toEqual([]);
  });
});

describe("GET /v1/changes", () => {
  it("without since: every live session, the live ids and a cursor", async () => {
    const { alice } = setup();
    await alice.put("/v1/sessions/a");
    await alice.put("/v1/sessions/b");
    const reply = await alice.get("/v1/changes");
    expect(reply.status).toBe(200);
    expect(reply.body.changed.map((s: { id: string }) => s.id).sort()).toEqual(["a", "b"]);
    expect(reply.body.live.sort()).toEqual(["a", "b"]);
    expect(reply.body.cursor).toBeTypeOf("number");
    expect(reply.body.cursor).toBeLessThanOrEqual(T0);
  });

  it("with since: the sessions changed at or after it; live lists every live id", async () => {
    const { alice } = setup();
    await alice.put("/v1/sessions/a");
    await alice.put("/v1/sessions/b");
    await alice.put("/v1/sessions/gone");
    later(10 * MINUTE);
    const { cursor } = (await alice.get("/v1/changes")).body;
    later(10 * MINUTE);
    await alice.post("/v1/sessions/b/touch");
    await alice.put("/v1/sessions/c");
    await alice.delete("/v1/sessions/gone");
    const reply = await alice.get(`/v1/changes?since=${cursor}`);
    expect(reply.body.changed.map((s: { id: string }) => s.id).sort()).toEqual(["b", "c"]);
    expect(reply.body.live.sort()).toEqual(["a", "b", "c"]);
    expect(reply.body.cursor).toBeGreaterThan(cursor);
  });

  it("reports a write made in the same millisecond as the cursor it is asked since", async () => {
    const { alice } = setup();
    const { cursor } = (await alice.get("/v1/changes")).body;
    vi.setSystemTime(cursor);
    await alice.put("/v1/sessions/a");
    const reply = await alice.get(`/v1/changes?since=${cursor}`);
    expect(reply.body.changed.map((s: { id: string }) => s.id)).toEqual(["a"]);
  });

  it("answers resync for a change-log cursor it never made", async () => {
    const { alice } = setup();
    for (const since of ["abc", "-1", "1.5"]) {
      const reply = await alice.get(`/v1/changes?since=${since}`);
      expect(reply.status).toBe(200);
      expect(reply.body).toMatchObject({ changed: [], removed: [], resync: true });
      expect(typeof reply.body.cursor).toBe("string");
    }
  });

  it("400 for a since that is not a cursor", async () => {
    const { alice } = setup();
    for (const since of ["", "1".repeat(16), "%C3%A9", "%20x", "a".repeat(201)]) {
      const reply = await alice.get(`/v1/changes?since=${since}`);
      expect(reply.status).toBe(400);
      expect(reply.body.error.code).toBe("BAD_REQUEST");
    }
  });
});

describe("every response", () => {
  it("carries x-sessionmanager-time, errors and unknown routes included", async () => {
    const { alice, server } = setup();
    const replies = [
      await alice.get("/v1/sessions/missing"),
      await alice.get("/v1/nothing-here"),
      await alice.put("/v1/sessions/a", { ttl: -1 }),
      await call(server, null, "GET", "/v1/sessions"),
      await call(server, null, "GET", "/"),
    ];
    for (const reply of replies) expect(reply.headers.get(TIME_HEADER)).toBe(String(T0));
  });

  it("404 NOT_FOUND JSON for an unknown route or method", async () => {
    const { alice, server } = setup();
    const unknown = await alice.get("/v1/nothing-here");
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toEqual({
      code: "NOT_FOUND",
      message: "no route GET /v1/nothing-here",
    });
    expect((await alice.post("/v1/sessions")).status).toBe(404);
    expect((await call(server, null, "GET", "/")).body.error.code).toBe("NOT_FOUND");
  });

  it("serves under basePath only", async () => {
    const { server } = setup({ basePath: "/api/" });
    expect((await call(server, "alice", "PUT", "/api/v1/sessions/a")).status).toBe(201);
    expect((await call(server, "alice", "GET", "/v1/sessions/a")).status).toBe(404);
    expect((await call(server, "alice", "GET", "/api/v1/sessions/a")).status).toBe(200);
  });
});
