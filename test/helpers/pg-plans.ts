// What the PostgreSQL store sends, and the plan PostgreSQL makes of it under a generic plan (a
// prepared statement after five runs, or plan_cache_mode = force_generic_plan).
import type pg from "pg";
import { expect } from "vitest";

export type Plan = { [key: string]: unknown; Plans?: Plan[] };
export type Sent = { text: string; values: unknown[] };

/** A client for `postgresStore({ client })` that records every statement it sends. */
export function recordingClient(pool: pg.Pool) {
  const sent: Sent[] = [];
  const client = {
    query: (text: string, values: unknown[] = []) => {
      sent.push({ text, values });
      return pool.query(text, values);
    },
  };
  return { client, sent };
}

/**
 * Inserts 20 rows for owner `a` and 20,000 for owner `b` (ids `<owner>/<n>`, after a's), with the
 * expiry `expiresAt` (SQL over `owner` and `n`), and analyses the table.
 */
export async function seedOwners(
  pool: pg.Pool,
  table: string,
  namespace: string,
  expiresAt = "1e15",
): Promise<void> {
  await pool.query(
    `INSERT INTO "${table}" (namespace, id, format, data, created_at, updated_at, expires_at, ttl, version)
     SELECT $1, owner || '/' || lpad(n::text, 5, '0'), 1, 'null', 0, 0, ${expiresAt}, 1000, 1
     FROM generate_series(1, 20000) n, unnest(CASE WHEN n <= 20 THEN ARRAY['a', 'b'] ELSE ARRAY['b'] END) owner`,
    [namespace],
  );
  await pool.query(`ANALYZE "${table}"`);
}

/**
 * The one scan of `table` in the generic plan of `statement`, prepared as `name` on `connection`
 * (which must have `plan_cache_mode = force_generic_plan`); the plan, as JSON, for messages.
 */
export async function genericScan(
  connection: pg.PoolClient,
  name: string,
  { text, values }: Sent,
  table: string,
): Promise<{ scan: Plan; plan: string }> {
  const literal = (value: unknown) =>
    value === null
      ? "NULL"
      : typeof value === "number"
        ? String(value)
        : connection.escapeLiteral(String(value));
  await connection.query(`PREPARE ${name} AS ${text}`);
  const explained = await connection.query(
    `EXPLAIN (FORMAT JSON) EXECUTE ${name}(${values.map(literal).join(", ")})`,
  );
  const plan = explained.rows[0]["QUERY PLAN"][0].Plan as Plan;
  const nodes = (node: Plan): Plan[] => [node, ...(node.Plans ?? []).flatMap(nodes)];
  const scans = nodes(plan).filter((node) => node["Relation Name"] === table);
  expect(scans, JSON.stringify(plan)).toHaveLength(1);
  return { scan: scans[0] as Plan, plan: JSON.stringify(plan) };
}
