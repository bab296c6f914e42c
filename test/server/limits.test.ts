import { describe, expect, it } from "vitest";
import { MAX_DATA_DEPTH } from "../../src/constants.ts";
import { call, setup, token } from "../helpers/server.ts";

/** JSON text of `levels` arrays in one another around `1`, built without recursion. */
const nestedJson = (levels: number) => `${"[".repeat(levels)}1${"]".repeat(levels)}`;

describe("data depth (issue 11, finding 4)", () => {
  it(`takes data ${MAX_DATA_DEPTH} levels deep and refuses deeper with 400 INVALID_DATA`, async () => {
    const { alice, store } = setup();
    const fits = await alice.put("/v1/sessions/a", {
      data: JSON.parse(nestedJson(MAX_DATA_DEPTH)),
    });
    expect(fits.status).toBe(201);
    const deeper = await alice.put("/v1/sessions/b", {
      data: JSON.parse(nestedJson(MAX_DATA_DEPTH + 1)),
    });
    expect(deeper.status).toBe(400);
    expect(deeper.body.error.code).toBe("INVALID_DATA");
    expect(deeper.body.error.message).toMatch(/more than 64 levels/);
    expect((await store.list()).map((r) => r.id)).toEqual(["alice/a"]);
  });

  it("answers 400, never 500, for data nested 1,900 deep (3.8 KB) and as deep as the body allows", async () => {
    const { server, store } = setup({ limits: { body: 256 * 1024 } });
    for (const levels of [1_900, 32_000, 100_000]) {
      const put = await call(server, "alice", "PUT", "/v1/sessions/a", {
        raw: `{"data":${nestedJson(levels)}}`,
        headers: { "content-type": "application/json" },
      });
      expect(put.status).toBe(400);
      expect(put.body.error.code).toBe("INVALID_DATA");
    }
    // A whole body of 100,000 arrays: JSON.parse may overflow its stack on other engines.
    const body = await call(server, "alice", "PUT", "/v1/sessions/a", {
      raw: nestedJson(100_000),
      headers: { "content-type": "application/json" },
    });
    expect(body.status).toBe(400);
    expect(body.body.error.code).toBe("BAD_REQUEST");
    expect(await store.list()).toEqual([]);
  });

  it("the same within the default body limit (64 KiB: 32,000 levels)", async () => {
    const { server } = setup();
    const put = await call(server, "alice", "PUT", "/v1/sessions/a", {
      raw: `{"data":${nestedJson(32_000)}}`,
      headers: { "content-type": "application/json" },
    });
    expect(put.status).toBe(400);
    expect(put.body.error.code).toBe("INVALID_DATA");
  });
});

describe("ids and owners (issue 11, finding 5)", () => {
  it.each([
    ["a NUL", "a%00b"],
    ["a NUL alone", "%00"],
  ])("refuses an id with %s with 400 INVALID_ID, before the store sees it", async (_, path) => {
    const { alice, store } = setup();
    for (const reply of [
      await alice.put(`/v1/sessions/${path}`, { data: 1 }),
      await alice.get(`/v1/sessions/${path}`),
      await alice.post(`/v1/sessions/${path}/touch`),
      await alice.delete(`/v1/sessions/${path}`),
    ]) {
      expect(reply.status).toBe(400);
      expect(reply.body.error.code).toBe("INVALID_ID");
    }
    expect(await store.list()).toEqual([]);
  });

  it("takes ids with any other character, astral ones too", async () => {
    const { alice, store } = setup();
    const id = "é😀\u0001\uFFFF";
    expect((await alice.put(`/v1/sessions/${encodeURIComponent(id)}`, { data: 1 })).status).toBe(
      201,
    );
    expect((await store.list()).map((r) => r.id)).toEqual([`alice/${id}`]);
  });

  it("a path with a lone surrogate's bytes (not UTF-8) never reaches the store as one", async () => {
    const { alice, store } = setup();
    const reply = await alice.put("/v1/sessions/%ED%A0%80", { data: 1 });
    expect(reply.status).toBeLessThan(500);
    // What reached the store survives UTF-8 both ways: no lone surrogate in it.
    for (const { id } of await store.list()) {
      expect(Buffer.from(id, "utf8").toString("utf8")).toBe(id);
    }
  });

  it.each([
    ["a lone high surrogate", "alice\uD800"],
    ["a lone low surrogate", "\uDC00alice"],
    ["a NUL", "ali\u0000ce"],
  ])("refuses a token whose sub has %s with 401, not 500", async (_, sub) => {
    const { server, store } = setup();
    const reply = await call(server, null, "PUT", "/v1/sessions/a", {
      body: { data: 1 },
      token: await token(sub),
    });
    expect(reply.status).toBe(401);
    expect(reply.body.error.code).toBe("UNAUTHORIZED");
    expect(await store.list()).toEqual([]);
  });

  it("a sub with an astral character is an owner like any", async () => {
    const { server } = setup();
    const reply = await call(server, null, "PUT", "/v1/sessions/a", {
      body: { data: 1 },
      token: await token("ali😀ce"),
    });
    expect(reply.status).toBe(201);
  });
});
