// Issue 11, finding 5, where it lived: PostgreSQL text cannot hold U+0000, so an id or a token
// `sub` with one reached the database and failed there (503, which clients retry forever). Now
// both are refused before any query: 400 INVALID_ID and 401. One table per run, dropped at the end.
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { InvalidSessionIdError, SessionManager } from "../../src/index.ts";
import { postgresStore } from "../../src/stores/postgres.ts";
import { call, client, setup, token } from "../helpers/server.ts";
import { requireService, runId, services } from "../helpers/services.ts";

const up = await requireService("postgres");
const { url } = services.postgres;
const table = `sm_limits_${runId()}`;

afterAll(async () => {
  if (!up) return;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(
    `DROP TABLE IF EXISTS "${table}", "${table}_changes", "${table}_changes_floor"`,
  );
  await admin.end();
});

describe.skipIf(!up)("ids PostgreSQL cannot hold", () => {
  it("the server over postgres answers an id with a NUL with 400 INVALID_ID, not 503", async () => {
    const { server } = setup({ backend: "postgres", url, table });
    const alice = client(server, "alice");
    expect((await alice.put("/v1/sessions/ok", { data: 1 })).status).toBe(201);
    for (const reply of [
      await alice.put("/v1/sessions/a%00b", { data: 1 }),
      await alice.get("/v1/sessions/a%00b"),
      await alice.post("/v1/sessions/a%00b/touch"),
      await alice.delete("/v1/sessions/a%00b"),
    ]) {
      expect(reply.status).toBe(400);
      expect(reply.body.error.code).toBe("INVALID_ID");
    }
    const list = await alice.get("/v1/sessions");
    expect(list.status).toBe(200);
    expect(JSON.stringify(list.body)).toMatch(/"ok"/);
  });

  it("the server over postgres answers a token whose sub has a NUL or a lone surrogate with 401", async () => {
    const { server } = setup({ backend: "postgres", url, table });
    for (const sub of ["ali\u0000ce", "alice\uD800"]) {
      const reply = await call(server, null, "PUT", "/v1/sessions/a", {
        body: { data: 1 },
        token: await token(sub),
      });
      expect(reply.status).toBe(401);
      expect(reply.body.error.code).toBe("UNAUTHORIZED");
    }
  });

  it("a manager over postgres refuses such ids with InvalidSessionIdError, not BackendError", async () => {
    const sm = new SessionManager({ backend: postgresStore({ url, table, namespace: "limits" }) });
    await sm.ready;
    for (const id of ["a\u0000b", "a\uD800"]) {
      await expect(sm.add(id)).rejects.toBeInstanceOf(InvalidSessionIdError);
      await expect(sm.get(id)).rejects.toBeInstanceOf(InvalidSessionIdError);
    }
    // A NUL inside the data is JSON's "\u0000" escape, which text holds.
    const added = await sm.add("b", { data: { s: "x\u0000y" } });
    expect((await sm.get("b"))?.data).toEqual(added.data);
    await sm.close();
  });
});
