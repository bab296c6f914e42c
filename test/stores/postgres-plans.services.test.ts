// The PostgreSQL store's page query under a generic plan (a prepared statement after five runs,
// or plan_cache_mode = force_generic_plan, which poolers and some deployments set): an optional
// bound written as `($3::text IS NULL OR id > $3)` is then a filter, not an index condition, and
// an owner's page read every id after its prefix (28 ms rather than 0.03 ms at 100k rows).
// Every statement the store sends for a page must bound the primary key scan by the cursor and
// the prefix's end whatever the plan.
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { postgresStore } from "../../src/stores/postgres.ts";
import { genericScan, recordingClient, type Sent, seedOwners } from "../helpers/pg-plans.ts";
import { requireService, runId, services } from "../helpers/services.ts";

const up = await requireService("postgres");
const { url } = services.postgres;
const table = `sm_${runId()}_plans`;
const pool = new pg.Pool({ connectionString: url, max: 2 });

afterAll(async () => {
  if (up)
    await pool.query(
      `DROP TABLE IF EXISTS "${table}", "${table}_changes", "${table}_changes_floor"`,
    );
  await pool.end();
});

describe.skipIf(!up)("postgres page statements under a generic plan", () => {
  it("bound the index scan by the cursor and the prefix's end, never filter on them", async () => {
    // What the store sends, through a client that records it.
    const { client, sent } = recordingClient(pool);
    const namespace = "plans";
    const store = postgresStore({ client, table, namespace });
    await store.open?.({ report: () => {} });
    // Another owner's 20,000 rows after this owner's prefix, and this owner's 20.
    await seedOwners(pool, table, namespace);

    const cases = [
      { prefix: "a/", cursor: undefined, bounds: ["id < "] },
      { prefix: "a/", cursor: "a/00005", bounds: ["id > ", "id < "] },
      { prefix: "", cursor: "a/00005", bounds: ["id > "] },
      { prefix: "", cursor: undefined, bounds: [] },
    ];
    const connection = await pool.connect();
    try {
      await connection.query("SET plan_cache_mode = force_generic_plan");
      for (const [i, { prefix, cursor, bounds }] of cases.entries()) {
        sent.length = 0;
        const page = await store.listPage?.({ prefix, cursor, limit: 10 });
        expect(page?.records.length).toBe(10);
        expect(sent).toHaveLength(1);
        const { scan } = await genericScan(connection, `page${i}`, sent[0] as Sent, table);
        const where = `${prefix || "(all)"} after ${cursor ?? "(start)"}`;
        expect(scan["Node Type"], where).toMatch(/^Index/);
        for (const bound of bounds) expect(scan["Index Cond"], where).toContain(bound);
        expect(scan.Filter, `${where}: ${String(scan.Filter)}`).toBeUndefined();
      }
    } finally {
      await connection.query("DEALLOCATE ALL");
      connection.release();
      await store.close?.();
    }
  });
});
