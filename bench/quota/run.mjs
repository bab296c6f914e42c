// What the per-owner quota (issue 11, finding 3) costs a create: the server counts the owner's
// live sessions in its partition up to `maxSessionsPerOwner` (the store's count: count(*) on
// SQLite and PostgreSQL, ZCOUNT on Redis; Memcached reads the records its index lists).
// Side by side in one run, on the memory store, SQLite and (when they are up) PostgreSQL, Redis
// and Memcached: a create (and its remove, so the count stays put) by an owner with no sessions
// in an empty namespace
// (the baseline), by the same owner beside another owner's 999 sessions (must cost the same),
// by an owner with 999 sessions (counts them), and a refused create at the limit. A page of
// `GET /v1/sessions` (100) against the same 999 sessions, for scale.
//
// Run: `npm run build && node bench/quota/run.mjs` (RUNS=<n>, default 200; DATA=<bytes> of data
// per session, default 1024). Measure another build with SESSIONMANAGER_DIST=<its dist>.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SignJWT } from "jose";
import { fromDist } from "../lib/dist.mjs";
import { table } from "../lib/table.mjs";
import { now } from "../lib/util.mjs";

const env = process.env;
const RUNS = Number(env.RUNS ?? 200);
const DATA = Number(env.DATA ?? 1024);
const SESSIONS = 999;
const SECRET = "bench-secret-that-is-at-least-32-bytes";
const run = `bench-quota-${process.pid}-${Date.now().toString(36)}`;
const pgUrl =
  env.DATABASE_URL ??
  `postgres://${env.POSTGRES_USER ?? "postgres"}@${env.POSTGRES_HOST ?? "127.0.0.1"}:${env.POSTGRES_PORT ?? 5432}/${env.POSTGRES_DB ?? "test"}`;

const redisUrl = env.REDIS_URL ?? "redis://127.0.0.1:6379";
const memcachedUrl = env.MEMCACHED_URL ?? "127.0.0.1:11211";

const { createSessionServer } = await fromDist("server.js");
const dir = await mkdtemp(join(tmpdir(), "sm-bench-quota-"));
const key = new TextEncoder().encode(SECRET);
const tokens = new Map();
async function token(sub) {
  if (!tokens.has(sub)) {
    const jwt = new SignJWT({ sub }).setProtectedHeader({ alg: "HS256" }).setExpirationTime("1h");
    tokens.set(sub, await jwt.sign(key));
  }
  return tokens.get(sub);
}

/** One request to the in-process server; throws unless it answered `expected`. */
async function call(server, sub, method, path, expected, body) {
  const headers = { authorization: `Bearer ${await token(sub)}` };
  if (body !== undefined) headers["content-type"] = "application/json";
  const init = { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) };
  const response = await server.fetch(new Request(`http://bench.test${path}`, init));
  if (response.status !== expected) {
    throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  }
  await response.arrayBuffer();
}

/** Mean µs of `step` over RUNS, after a tenth as many warm-up runs. */
async function mean(step) {
  for (let i = 0; i < RUNS / 10; i++) await step(i);
  const started = now();
  for (let i = 0; i < RUNS; i++) await step(i);
  return ((now() - started) / RUNS) * 1000;
}

const backends = [
  { name: "memory", options: () => ({ backend: "memory" }) },
  { name: "sqlite", options: (n) => ({ backend: "sqlite", path: join(dir, `${n}.db`) }) },
  { name: "postgres", options: () => ({ backend: "postgres", url: pgUrl }) },
  // Keys under a prefix of this run's own (what a clear leaves of the owners' registry is tiny).
  { name: "redis", options: () => ({ backend: "redis", url: redisUrl, prefix: run }) },
  { name: "memcached", options: () => ({ backend: "memcached", url: memcachedUrl, prefix: run }) },
];

const rows = [];
for (const { name, options } of backends) {
  const servers = [];
  const make = (label, extra = {}) => {
    const server = createSessionServer({
      ...options(label),
      namespace: `${run}-${label}`,
      auth: { secret: SECRET },
      sweepInterval: 0,
      ...extra,
    });
    servers.push(server);
    return server;
  };
  try {
    const data = "x".repeat(DATA);
    const fill = async (server, sub, count) => {
      for (let i = 0; i < count; i += 50) {
        const ids = Array.from({ length: Math.min(50, count - i) }, (_, j) => `s${i + j}`);
        await Promise.all(
          ids.map((id) => call(server, sub, "PUT", `/v1/sessions/${id}`, 201, { data })),
        );
      }
    };
    const createRemove = (server, sub) => async (i) => {
      await call(server, sub, "PUT", `/v1/sessions/new${i}`, 201, { data });
      await call(server, sub, "DELETE", `/v1/sessions/new${i}`, 200);
    };
    const alone = make("alone");
    await call(alone, "probe", "GET", "/v1/sessions", 200); // opens the store (or throws)
    const crowded = make("crowded");
    await fill(crowded, "busy", SESSIONS);
    const full = make("full", { maxSessionsPerOwner: SESSIONS });

    // A touch counts nothing: what the crowded database costs any request, for comparison.
    const touch = (server) => async () => {
      await call(server, "quiet", "POST", "/v1/sessions/kept/touch", 200);
    };
    await call(alone, "quiet", "PUT", "/v1/sessions/kept", 201, { data });
    await call(crowded, "quiet", "PUT", "/v1/sessions/kept", 201, { data });
    const touchAlone = await mean(touch(alone));
    const touchBeside = await mean(touch(crowded));
    await call(alone, "quiet", "DELETE", "/v1/sessions/kept", 200);
    await call(crowded, "quiet", "DELETE", "/v1/sessions/kept", 200);
    const beside = await mean(createRemove(crowded, "quiet"));
    const baseline = await mean(createRemove(alone, "quiet"));
    const own = await mean(createRemove(crowded, "busy"));
    await fill(full, "busy", SESSIONS);
    const refused = await mean((i) =>
      call(full, "busy", "PUT", `/v1/sessions/over${i}`, 403, { data }),
    );
    const page = await mean(() => call(crowded, "busy", "GET", "/v1/sessions", 200));
    const ratio = (us) => `${(us / baseline).toFixed(2)}×`;
    rows.push(
      [`${name}: create+remove, owner has 0, namespace empty`, baseline.toFixed(0), "1.00×"],
      [
        `${name}: create+remove, owner has 0, another has ${SESSIONS}`,
        beside.toFixed(0),
        ratio(beside),
      ],
      [`${name}: create+remove, owner has ${SESSIONS}`, own.toFixed(0), ratio(own)],
      [
        `${name}: refused create, owner at its limit of ${SESSIONS}`,
        refused.toFixed(0),
        ratio(refused),
      ],
      [`${name}: GET /v1/sessions (a page of 100 of ${SESSIONS})`, page.toFixed(0), ratio(page)],
      [`${name}: touch (no count), namespace empty`, touchAlone.toFixed(0), ratio(touchAlone)],
      [
        `${name}: touch (no count), another has ${SESSIONS}`,
        touchBeside.toFixed(0),
        ratio(touchBeside),
      ],
    );
    for (const server of [alone, crowded, full]) {
      for (const sub of ["quiet", "busy", "probe"])
        await call(server, sub, "DELETE", "/v1/sessions", 200);
    }
  } catch (error) {
    rows.push([`${name}: skipped (${error.message.split("\n")[0].slice(0, 60)})`, "-", "-"]);
  } finally {
    for (const server of servers) await server.close().catch(() => {});
  }
}
await rm(dir, { recursive: true, force: true });

console.log(
  table(
    `per-owner quota: what a create costs (${RUNS} runs, ${DATA} B of data a session)`,
    ["request", "µs/op", "vs baseline"],
    rows,
    [
      "a create counts the owner's live sessions (its partition only), stopping at the limit",
      "another owner's sessions must not change a create's cost (row 2 ≈ row 1)",
    ],
  ),
);
