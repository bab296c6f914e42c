// "." and ".." as session ids (B2 in the fuzz notes): URLs drop them as path segments ("%2e"
// included), so no HTTP client could reach such a session. checkId refuses them everywhere: the
// SDK before any store call, the server for a path or a token's sub.
import { expect, it } from "vitest";
import { InvalidSessionIdError, SessionManager } from "../../src/index.ts";
import { memoryStore } from "../../src/stores/memory.ts";
import { call, setup } from "../helpers/server.ts";

it("the manager refuses '.' and '..' as ids, and stores nothing", async () => {
  const sm = new SessionManager({ backend: memoryStore() });
  try {
    for (const id of [".", ".."]) {
      await expect(sm.add(id, { data: 1 })).rejects.toBeInstanceOf(InvalidSessionIdError);
      await expect(sm.add(id, { data: 1 })).rejects.toThrow(`got "${id}", which no URL can carry`);
      await expect(sm.get(id)).rejects.toBeInstanceOf(InvalidSessionIdError);
    }
    expect(await sm.list()).toEqual([]);
  } finally {
    await sm.close();
  }
});

it("the server answers every spelling of a dot segment without a 5xx or a session", async () => {
  const { alice } = setup();
  for (const id of [".", "..", "%2e", "%2E", "%2e%2e", ".%2E", "%2e."]) {
    const reply = await alice.put(`/v1/sessions/${id}`, { data: 1 });
    expect(reply.status, id).toBeGreaterThanOrEqual(400);
    expect(reply.status, id).toBeLessThan(500);
  }
  expect((await alice.get("/v1/sessions")).body.sessions).toEqual([]);
});

it("a token whose sub is '.' or '..' is refused", async () => {
  const { server } = setup();
  for (const sub of [".", ".."]) {
    const reply = await call(server, sub, "GET", "/v1/sessions");
    expect(reply.status, sub).toBe(401);
  }
});

it("a DELETE of a dot segment never reaches the owner's clear (DELETE /v1/sessions)", async () => {
  const { alice } = setup();
  await alice.put("/v1/sessions/keep", { data: 1 });
  for (const path of ["/v1/sessions/.", "/v1/sessions/%2e", "/v1/sessions/x/..", "/v1/sessions/"]) {
    expect((await alice.delete(path)).status, path).toBe(404);
  }
  expect((await alice.get("/v1/sessions")).body.sessions).toHaveLength(1);
});
