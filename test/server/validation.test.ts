import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { call, setup } from "../helpers/server.ts";

const T0 = Date.UTC(2026, 0, 1);
const JWE = "eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..aXYtaXYtaXYtaXY.Y2lwaGVy.dGFndGFndGFndGFn";

beforeEach(() => {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(T0);
});
afterEach(() => vi.useRealTimers());

describe("validation and limits", () => {
  it("413 for a body over the limit, declared or streamed, before parsing it", async () => {
    const { alice, server, store } = setup({ limits: { body: 100 } });
    const big = { data: "x".repeat(200) };
    const declared = await alice.put("/v1/sessions/a", big);
    expect(declared.status).toBe(413);
    expect(declared.body.error.code).toBe("PAYLOAD_TOO_LARGE");
    // A stream has no Content-Length: the bytes are counted as they arrive.
    const chunks = new ReadableStream({
      start(controller) {
        for (let i = 0; i < 10; i++) controller.enqueue(new TextEncoder().encode("x".repeat(50)));
        controller.close();
      },
    });
    const streamed = await call(server, "alice", "PUT", "/v1/sessions/a", {
      raw: chunks,
      headers: { "content-type": "application/json" },
    });
    expect(streamed.status).toBe(413);
    expect(await store.list()).toEqual([]);
  });

  it("reads a body by its Content-Length, and refuses one longer than it declared", async () => {
    const { server, store } = setup({ limits: { body: 100 } });
    const fits = JSON.stringify({ data: { a: 1 } });
    const declared = await call(server, "alice", "PUT", "/v1/sessions/a", {
      raw: fits,
      headers: { "content-length": String(fits.length) },
    });
    expect(declared.status).toBe(201);
    expect(declared.body.session.data).toEqual({ a: 1 });
    // Only a hand-made Request can do this: HTTP servers frame the body by its Content-Length.
    const understated = await call(server, "alice", "PUT", "/v1/sessions/b", {
      raw: JSON.stringify({ data: "x".repeat(200) }),
      headers: { "content-length": "20" },
    });
    expect(understated.status).toBe(413);
    expect(understated.body.error.code).toBe("PAYLOAD_TOO_LARGE");
    const empty = await call(server, "alice", "POST", "/v1/sessions/a/touch", {
      headers: { "content-length": "0" },
    });
    expect(empty.status).toBe(200);
    expect(empty.body.session.version).toBe(2);
    expect((await store.list()).map((r) => r.version)).toEqual([2]);
  });

  it("the default body limit is 64 KiB", async () => {
    const { alice } = setup({ limits: { data: 1_000_000 } });
    expect((await alice.put("/v1/sessions/a", { data: "x".repeat(65_000) })).status).toBe(201);
    expect((await alice.put("/v1/sessions/a", { data: "x".repeat(66_000) })).status).toBe(413);
  });

  it("400 INVALID_DATA for data over the data limit (16 KiB by default)", async () => {
    const { alice, store } = setup();
    const reply = await alice.put("/v1/sessions/a", { data: "é".repeat(9000) });
    expect(reply.status).toBe(400);
    expect(reply.body.error.code).toBe("INVALID_DATA");
    expect(reply.body.error.message).toMatch(/at most 16384 bytes/);
    expect(await store.list()).toEqual([]);
    expect((await alice.put("/v1/sessions/a", { data: "x".repeat(16_000) })).status).toBe(201);
  });

  it("400 INVALID_ID for an id over 256 characters or over limits.id", async () => {
    const { alice } = setup();
    const long = await alice.put(`/v1/sessions/${"a".repeat(257)}`);
    expect(long.status).toBe(400);
    expect(long.body.error.code).toBe("INVALID_ID");
    expect((await alice.get(`/v1/sessions/${"a".repeat(256)}`)).status).toBe(404);
    const short = setup({ limits: { id: 8 } }).alice;
    expect((await short.get(`/v1/sessions/${"a".repeat(9)}`)).body.error.code).toBe("INVALID_ID");
  });

  it("400 INVALID_ID for the library's reserved ids (the sync outbox, the salt): never stored", async () => {
    const { OUTBOX_ID } = await import("../../src/sync/outbox.ts");
    const { reservedId } = await import("../../src/constants.ts");
    const { alice, store } = setup();
    for (const id of [OUTBOX_ID, reservedId("passphrase-salt")]) {
      const path = `/v1/sessions/${encodeURIComponent(id)}`;
      const put = await alice.put(path, { data: { v: 1, ops: [{ n: 1, clear: true }], next: 2 } });
      expect(put.status).toBe(400);
      expect(put.body.error.code).toBe("INVALID_ID");
      expect((await alice.post(`${path}/touch`)).status).toBe(400);
      expect((await alice.get(path)).status).toBe(400);
    }
    expect(await store.list()).toEqual([]);
  });

  it("400 INVALID_TTL for a ttl that is not a positive duration (ms or a Duration string)", async () => {
    const { alice, server, store } = setup();
    for (const ttl of [0, -10, 0.2, "abc", "", "0m", "-5m", "15 minutes", null, true, {}]) {
      const reply = await alice.put("/v1/sessions/a", { ttl });
      expect(reply.status, JSON.stringify(ttl)).toBe(400);
      expect(reply.body.error.code).toBe("INVALID_TTL");
      expect(reply.body.error.message).toMatch(/^ttl must be/);
    }
    const abc = await alice.put("/v1/sessions/a", { ttl: "abc" });
    expect(abc.body.error.message).toBe('ttl must be a positive duration, got "abc"');
    const wrongType = await alice.put("/v1/sessions/a", { ttl: true });
    expect(wrongType.body.error.message).toMatch(/Duration string, got true/);
    const touchAbc = await alice.post("/v1/sessions/a/touch", { ttl: "soon" });
    expect(touchAbc.status).toBe(400);
    expect(touchAbc.body.error.message).toBe('ttl must be a positive duration, got "soon"');
    // JSON has no Infinity, but 1e400 parses to it.
    const infinite = await call(server, "alice", "PUT", "/v1/sessions/a", { raw: '{"ttl":1e400}' });
    expect(infinite.body.error.code).toBe("INVALID_TTL");
    await alice.put("/v1/sessions/b");
    expect((await alice.post("/v1/sessions/b/touch", { ttl: -1 })).body.error.code).toBe(
      "INVALID_TTL",
    );
    expect((await store.list()).length).toBe(1);
  });

  it("400 BAD_REQUEST for a body that is not JSON or not an object", async () => {
    const { alice, server } = setup();
    for (const raw of ["{nope", "[1,2]", '"text"', "42", "null"]) {
      const reply = await call(server, "alice", "PUT", "/v1/sessions/a", { raw });
      expect(reply.status, raw).toBe(400);
      expect(reply.body.error.code).toBe("BAD_REQUEST");
    }
    const bytes = await call(server, "alice", "PUT", "/v1/sessions/a", {
      raw: new Uint8Array([0xff, 0xfe]),
    });
    expect(bytes.body.error.message).toMatch(/UTF-8/);
    expect((await alice.get("/v1/sessions/a")).status).toBe(404);
  });

  it("400 for fields of the wrong type", async () => {
    const { alice } = setup();
    const notTrue = await alice.put("/v1/sessions/a", { data: JWE, encrypted: false });
    expect(notTrue.status).toBe(400);
    expect(notTrue.body.error.message).toMatch(/encrypted must be true/);
    const notJwe = await alice.put("/v1/sessions/a", { data: { a: 1 }, encrypted: true });
    expect(notJwe.body.error.code).toBe("INVALID_DATA");
    const notCompact = await alice.put("/v1/sessions/a", { data: "a.b", encrypted: true });
    expect(notCompact.body.error.code).toBe("INVALID_DATA");
  });

  it("400 for malformed or contradictory preconditions", async () => {
    const { alice } = setup();
    const cases = [
      { "if-match": "1" },
      { "if-match": 'W/"1"' },
      { "if-none-match": '"1"' },
      { "if-match": '"1"', "if-none-match": "*" },
    ];
    for (const headers of cases) {
      const reply = await alice.put("/v1/sessions/a", {}, { headers });
      expect(reply.status, JSON.stringify(headers)).toBe(400);
      expect(reply.body.error.code).toBe("BAD_REQUEST");
    }
  });
});

describe("logging", () => {
  it("logs one debug line per request: method, path with the id shortened, status, ms", async () => {
    const lines: string[] = [];
    const log = (line: string) => lines.push(line);
    const logger = { debug: log, info: log, warn: log, error: log };
    const { alice } = setup({ logger, logLevel: "debug" });
    await alice.put("/v1/sessions/secret-session-id", { data: { password: "hunter2" } });
    await alice.get("/v1/changes?since=123");
    expect(lines).toEqual([
      "sessionmanager:server PUT /v1/sessions/secr… 201 0ms",
      "sessionmanager:server GET /v1/changes 200 0ms",
    ]);
  });

  it("logs nothing per request at the default level", async () => {
    const debug = vi.fn();
    const { alice } = setup({ logger: { debug, info: debug, warn: debug, error: debug } });
    await alice.put("/v1/sessions/a");
    expect(debug).not.toHaveBeenCalled();
  });
});
