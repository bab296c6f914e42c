// The PostgreSQL store's count (the server's quota check) under a generic plan, as
// postgres-plans.services.test.ts checks its pages: the statement must scan the primary key
// bounded by the prefix and its end, never the namespace's expiry index (every owner's live rows)
// nor every id after the prefix.
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { postgresStore } from "../../src/stores/postgres.ts";
import { genericScan, recordingClient, type Sent, seedOwners } from "../helpers/pg-plans.ts";
import { requireService, runId, services } from "../helpers/services.ts";

const up = await requireService("postgres");
const { url } = services.postgres;
const table = `sm_${runId()}_count`;
const pool = new pg.Pool({ connectionString: url, max: 2 });

afterAll(async () => {
  if (up)
    await pool.query(
      `DROP TABLE IF EXISTS "${table}", "${table}_changes", "${table}_changes_floor"`,
    );
  await pool.end();
});

describe.skipIf(!up)("postgres count under a generic plan", () => {
  it("counts an owner's live rows up to the bound from the primary key's range", async () => {
    const { client, sent } = recordingClient(pool);
    const namespace = "count";
    const store = postgresStore({ client, table, namespace });
    await store.open?.({ report: () => {} });
    // Owner a: 20 rows, every other one expired (at 1000); owner b: 20,000 live rows after a's.
    await seedOwners(
      pool,
      table,
      namespace,
      "CASE WHEN owner = 'a' AND n % 2 = 0 THEN 1000 ELSE 1e15 END",
    );
    expect(await store.count?.({ prefix: "a/", now: 2000 })).toBe(10);
    expect(await store.count?.({ prefix: "a/", now: 2000, upTo: 4 })).toBe(4);
    expect(await store.count?.({ prefix: "a/", now: 500 })).toBe(20);
    expect(await store.count?.({ prefix: "b/", now: 2000, upTo: 1000 })).toBe(1000);
    expect(await store.count?.({ now: 2000 })).toBe(20_010);

    const connection = await pool.connect();
    try {
      await connection.query("SET plan_cache_mode = force_generic_plan");
      for (const [i, upTo] of [undefined, 1000].entries()) {
        sent.length = 0;
        expect(await store.count?.({ prefix: "a/", now: 2000, upTo })).toBe(10);
        expect(sent).toHaveLength(1);
        const { scan, plan } = await genericScan(connection, `count${i}`, sent[0] as Sent, table);
        expect(scan["Node Type"], plan).toMatch(/^Index/);
        expect(scan["Index Name"], plan).toMatch(/pkey$/);
        expect(scan["Index Cond"]).toContain("id >= ");
        expect(scan["Index Cond"]).toContain("id < ");
      }
    } finally {
      connection.release();
      await store.close?.();
    }
  });
});
