// The PostgreSQL store's page query under a generic plan (a prepared statement after five runs,
// or plan_cache_mode = force_generic_plan, which poolers and some deployments set): an optional
// bound written as `($3::text IS NULL OR id > $3)` is then a filter, not an index condition, and
// an owner's page read every id after its prefix (28 ms rather than 0.03 ms at 100k rows).
// Every statement the store sends for a page must bound the primary key scan by the cursor and
// the prefix's end whatever the plan.
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { postgresStore } from "../../src/stores/postgres.ts";
import { requireService, runId, services } from "../helpers/services.ts";

const up = await requireService("postgres");
const { url } = services.postgres;
const table = `sm_${runId()}_plans`;
const pool = new pg.Pool({ connectionString: url, max: 2 });

afterAll(async () => {
  if (up) await pool.query(`DROP TABLE IF EXISTS "${table}"`);
  await pool.end();
});

type Plan = { [key: string]: unknown; Plans?: Plan[] };
const nodes = (plan: Plan): Plan[] => [plan, ...(plan.Plans ?? []).flatMap(nodes)];

describe.skipIf(!up)("postgres page statements under a generic plan", () => {
  it("bound the index scan by the cursor and the prefix's end, never filter on them", async () => {
    // What the store sends, through a client that records it.
    const sent: { text: string; values: unknown[] }[] = [];
    const client = {
      query: (text: string, values: unknown[] = []) => {
        sent.push({ text, values });
        return pool.query(text, values);
      },
    };
    const namespace = "plans";
    const store = postgresStore({ client, table, namespace });
    await store.open?.({ report: () => {} });
    // Another owner's 20,000 rows after this owner's prefix, and this owner's 20.
    await pool.query(
      `INSERT INTO "${table}" (namespace, id, format, data, created_at, updated_at, expires_at, ttl, version)
       SELECT $1, owner || '/' || lpad(n::text, 5, '0'), 1, 'null', 0, 0, 1e15, 1000, 1
       FROM generate_series(1, 20000) n, unnest(CASE WHEN n <= 20 THEN ARRAY['a', 'b'] ELSE ARRAY['b'] END) owner`,
      [namespace],
    );
    await pool.query(`ANALYZE "${table}"`);

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
        const [{ text, values }] = sent as [{ text: string; values: unknown[] }];
        const literal = (value: unknown) =>
          value === null
            ? "NULL"
            : typeof value === "number"
              ? String(value)
              : connection.escapeLiteral(String(value));
        await connection.query(`PREPARE page${i} AS ${text}`);
        const explained = await connection.query(
          `EXPLAIN (FORMAT JSON) EXECUTE page${i}(${values.map(literal).join(", ")})`,
        );
        const plan = explained.rows[0]["QUERY PLAN"][0].Plan as Plan;
        const scans = nodes(plan).filter((node) => node["Relation Name"] === table);
        expect(scans, JSON.stringify(plan)).toHaveLength(1);
        const [scan] = scans as [Plan];
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
