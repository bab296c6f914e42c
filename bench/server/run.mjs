// HTTP benchmark of the sessionmanager server: `npm run bench:server` (builds first, then runs
// bench/server/run.mjs).
// Each backend is served by `sessionmanager serve` in its own process, seeded with sessions for
// one owner, and driven by autocannon from this process (GET a session, touch a session), next to
// two fixed-JSON baselines (bare node:http, and Hono) that show what this machine can do at all.
// Then two servers share one Redis: writes through one are read through the other, and both are
// loaded at once.
//
//   node bench/server/run.mjs [--seconds 5] [--sessions 1000] [--connections 50]
//                         [--only sqlite,redis] [--profile sqlite] [--cli path/to/cli.js]
//
// --profile <backend> runs that backend alone under `node --cpu-prof` and prints where its CPU
// time went; --cli benchmarks another build of the command (to compare a change); --only takes
// backend names and "two-redis". A backend whose service is down is skipped with a line saying so.
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { table } from "../lib/table.mjs";
import { fmtInt } from "../lib/util.mjs";
import { clear, drive, listIds, mintToken, readSession, seed, sessionIds } from "./load.mjs";
import { CLI, reachable, startBaseline, startServer } from "./processes.mjs";
import { summarizeProfile } from "./profile.mjs";

const SECRET = "bench-secret-that-is-long-enough-for-hs256";
const OWNER = "bench-user";
const TARGET = { backend: "sqlite", rps: 5000, p99: 20 };
const WARMUP_SECONDS = 1;
const env = process.env;
const POSTGRES_URL = env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const REDIS_URL = env.REDIS_URL ?? "redis://127.0.0.1:6379";
const MEMCACHED_URL = env.MEMCACHED_URL ?? "127.0.0.1:11211";

const { values: flags } = parseArgs({
  options: {
    seconds: { type: "string", default: "5" },
    sessions: { type: "string", default: "1000" },
    connections: { type: "string", default: "50" },
    only: { type: "string" },
    profile: { type: "string" },
    cli: { type: "string", default: CLI },
  },
});
const seconds = Number(flags.seconds);
const connections = Number(flags.connections);
const ids = sessionIds(Number(flags.sessions));
const namespace = `bench_${process.pid}_${Date.now().toString(36)}`;
const tmp = mkdtempSync(join(os.tmpdir(), "sessionmanager-bench-"));

/** The backends, in the order they run: where each keeps its data, and how to reach it. */
const BACKENDS = [
  { name: "memory", args: [] },
  { name: "sqlite", args: ["--path", join(tmp, "sessions.db")] },
  { name: "file", args: ["--path", join(tmp, "sessions.json")] },
  { name: "postgres", args: ["--url", POSTGRES_URL], service: hostPort(POSTGRES_URL, 5432) },
  { name: "redis", args: ["--url", REDIS_URL], service: hostPort(REDIS_URL, 6379) },
  { name: "memcached", args: ["--url", MEMCACHED_URL], service: hostPort(MEMCACHED_URL, 11211) },
];

const rows = [];
const skipped = [];
const problems = [];
let bare;

async function main() {
  if (!existsSync(flags.cli)) {
    throw new Error(`${flags.cli} is missing: run \`npm run build\` first`);
  }
  const cpu = os.cpus();
  console.log(
    `sessionmanager server bench: Node ${process.version}, ${cpu.length} CPUs (${cpu[0]?.model}),` +
      ` load average ${loadAverage()}; ${seconds} s per case, ${connections} connections,` +
      ` pipelining 1, ${fmtInt(ids.length)} sessions`,
  );
  const token = await mintToken(SECRET, OWNER);
  if (flags.profile) return profileRun(flags.profile, token);
  const only = flags.only?.split(",");
  if (!only) {
    for (const kind of ["node", "hono"]) await baseline(kind);
  }
  for (const backend of BACKENDS) {
    if (only && !only.includes(backend.name)) continue;
    await benchBackend(backend, token);
  }
  if (!only || only.includes("two-redis")) await twoProcesses(token);
  // Again at the end: other processes on the machine move the numbers; the better one is "bare".
  if (!only) await baseline("node", "baseline node:http (end)");
  console.log(`load average at end ${loadAverage()} (other processes skew timings)`);
  report();
}

async function baseline(kind, label = `baseline ${kind === "node" ? "node:http" : "hono"}`) {
  const server = await startBaseline(kind);
  try {
    const options = { route: "fixed", seconds, connections };
    await drive(server.url, { ...options, seconds: WARMUP_SECONDS });
    const result = await drive(server.url, options);
    if (kind === "node") bare = Math.max(bare ?? 0, result.rps);
    rows.push([label, "fixed JSON", result]);
  } finally {
    await server.stop();
  }
}

/** Serves one backend, seeds it, then measures GET and touch. */
async function benchBackend(backend, token) {
  const down = await unreachable(backend);
  if (down) return;
  const args = ["--backend", backend.name, "--namespace", namespace, ...backend.args];
  const server = await startServer(args, { secret: SECRET, cli: flags.cli });
  try {
    const seedSeconds = await seedAndCheck(backend.name, server.url, token);
    for (const route of ["get", "touch"]) {
      const options = { token, route, ids, seconds, connections };
      await drive(server.url, { ...options, seconds: WARMUP_SECONDS });
      const result = await drive(server.url, options);
      rows.push([
        backend.name,
        route,
        { ...result, seedSeconds: route === "get" ? seedSeconds : undefined },
      ]);
    }
    // Every touch landed (the first session moved past version 1), and none fell out of the list.
    const session = await readSession(server.url, token, ids[0]);
    if (session.version < 2) {
      problems.push(`${backend.name}: touch left version ${session.version}`);
    }
    const listed = await listIds(server.url, token);
    if (listed.length !== ids.length) {
      problems.push(
        `${backend.name}: ${listed.length} of ${ids.length} sessions listed after the load`,
      );
    }
  } finally {
    await clear(server.url, token).catch(() => {});
    await server.stop();
    if (server.stderr()) {
      problems.push(`${backend.name} server stderr:\n${summarizeLog(server.stderr())}`);
    }
  }
}

/** Seeds the sessions; every one must then be listed. Resolves to the seconds seeding took. */
async function seedAndCheck(name, url, token) {
  const started = performance.now();
  await seed(url, token, ids);
  const elapsed = (performance.now() - started) / 1000;
  const listed = await listIds(url, token);
  if (listed.length !== ids.length) {
    problems.push(`${name}: ${listed.length} of ${ids.length} seeded sessions listed`);
  }
  return elapsed;
}

/**
 * Two servers on one Redis (same namespace and secret): sessions written through A are read and
 * touched through B, then both are loaded at once, and must still agree.
 */
async function twoProcesses(token) {
  const backend = BACKENDS.find((b) => b.name === "redis");
  if (await unreachable({ ...backend, name: "two processes on redis" })) return;
  const args = ["--backend", "redis", "--namespace", `${namespace}_two`, ...backend.args];
  const a = await startServer(args, { secret: SECRET, cli: flags.cli });
  const b = await startServer(args, { secret: SECRET, cli: flags.cli }).catch(async (error) => {
    await a.stop();
    throw error;
  });
  try {
    const seedSeconds = await seedAndCheck("redis A", a.url, token);
    const seen = await readSession(b.url, token, ids.at(-1));
    if (seen.version !== 1) problems.push(`two processes: B read version ${seen.version}`);
    const half = { token, ids, seconds, connections: Math.max(1, connections / 2) };
    for (const route of ["get", "touch"]) {
      // B rotates from the middle, so the two rarely write the same session at the same time.
      const both = (s) =>
        Promise.all([
          drive(a.url, { ...half, route, seconds: s }),
          drive(b.url, { ...half, route, seconds: s, offset: ids.length / 2 }),
        ]);
      await both(WARMUP_SECONDS);
      const [ra, rb] = await both(seconds);
      const seeded = route === "get" ? seedSeconds : undefined;
      rows.push(["redis A (of 2)", route, { ...ra, seedSeconds: seeded }]);
      rows.push(["redis B (of 2)", route, rb]);
      rows.push(["redis A+B", route, combine(ra, rb)]);
    }
    const [viaA, viaB] = await Promise.all([
      readSession(a.url, token, ids[0]),
      readSession(b.url, token, ids[0]),
    ]);
    if (viaA.version !== viaB.version || viaA.expiresAt !== viaB.expiresAt) {
      problems.push(`two processes disagree: A v${viaA.version}, B v${viaB.version}`);
    }
  } finally {
    await clear(a.url, token).catch(() => {});
    await Promise.all([a.stop(), b.stop()]);
    for (const s of [a, b]) {
      if (s.stderr()) problems.push(`redis server stderr:\n${summarizeLog(s.stderr())}`);
    }
  }
}

/** One backend under `node --cpu-prof`: GET then touch, then where the time went. */
async function profileRun(name, token) {
  const backend = BACKENDS.find((b) => b.name === name);
  if (!backend) throw new Error(`--profile: unknown backend ${name}`);
  if (await unreachable(backend)) return;
  const dir = join(tmp, "profile");
  const args = ["--backend", name, "--namespace", namespace, ...backend.args];
  const server = await startServer(args, {
    secret: SECRET,
    cli: flags.cli,
    nodeArgs: ["--cpu-prof", "--cpu-prof-dir", dir],
  });
  try {
    await seed(server.url, token, ids);
    for (const route of ["get", "touch"]) {
      rows.push([
        `${name} (profiled)`,
        route,
        await drive(server.url, { token, route, ids, seconds, connections }),
      ]);
    }
  } finally {
    await clear(server.url, token).catch(() => {});
    await server.stop();
  }
  report();
  const file = readdirSync(dir).find((f) => f.endsWith(".cpuprofile"));
  const { total, areas, functions, watched } = summarizeProfile(join(dir, file));
  const pct = (ms) => `${((ms / total) * 100).toFixed(1)}%`;
  const out = (title, list) =>
    table(
      title,
      ["", "ms", "share"],
      list.map(([n, ms]) => [n, fmtInt(ms), pct(ms)]),
    );
  console.log(`\nCPU profile of the ${name} server: ${fmtInt(total)} ms busy (idle excluded)`);
  console.log(out("self time by package / area", areas));
  console.log(out("self time by function (top 15)", functions));
  console.log(out("inclusive time of watched functions", watched));
}

function report() {
  const fmt = (x) => String(Math.round(x));
  const body = rows.map(([name, route, r]) => [
    name,
    route,
    fmtInt(r.rps),
    bare ? `${Math.round((r.rps / bare) * 100)}%` : "",
    fmt(r.p50),
    fmt(r.p99),
    String(r.errors),
    String(r.non2xx),
    r.seedSeconds === undefined ? "" : r.seedSeconds.toFixed(1),
  ]);
  const notes = [
    "req/s: autocannon's mean of per-second samples; latency: autocannon's, in whole ms",
    "of bare: req/s as a share of the bare node:http baseline (the better of its two runs)",
    "the load generator runs in this process and shares the CPUs with the servers",
    `seed s: seconds to create the ${fmtInt(ids.length)} sessions, 16 PUTs at a time`,
    "redis A+B: two servers on one Redis loaded at once; their req/s summed, the worse latency",
    ...skipped.map((line) => `skipped: ${line}`),
  ];
  console.log(
    table(
      "sessionmanager server over HTTP",
      ["server", "route", "req/s", "of bare", "p50 ms", "p99 ms", "errors", "non-2xx", "seed s"],
      body,
      notes,
    ),
  );
  const failed = rows.filter(([, , r]) => r.errors > 0 || r.non2xx > 0);
  const target = rows.find(([name, route]) => name === TARGET.backend && route === "get");
  if (target) {
    const [, , r] = target;
    const pass = r.rps >= TARGET.rps && r.p99 <= TARGET.p99;
    console.log(
      `\ntarget: ${TARGET.backend} GET >= ${fmtInt(TARGET.rps)} req/s and p99 <= ${TARGET.p99} ms:` +
        ` ${fmtInt(r.rps)} req/s, p99 ${fmt(r.p99)} ms -> ${pass ? "PASS" : "MISS"}`,
    );
    if (!pass) console.log("  profile it: node bench/server.mjs --profile sqlite");
  }
  console.log(
    `errors and non-2xx: ${failed.length === 0 ? "none" : failed.map(([n, route]) => `${n} ${route}`).join(", ")}`,
  );
  for (const problem of problems) console.log(`problem: ${problem}`);
  if (failed.length > 0 || problems.length > 0) process.exitCode = 1;
}

/** Log lines without their timestamps, each once with how often it came (the first few). */
function summarizeLog(text, max = 5) {
  const counts = new Map();
  for (const line of text.split("\n").filter(Boolean)) {
    const message = line.replace(/^\S+Z /, "");
    counts.set(message, (counts.get(message) ?? 0) + 1);
  }
  const lines = [...counts].slice(0, max).map(([message, n]) => `  ${n}x ${message}`);
  if (counts.size > max) lines.push(`  … and ${counts.size - max} other lines`);
  return lines.join("\n");
}

function combine(a, b) {
  return {
    rps: a.rps + b.rps,
    total: a.total + b.total,
    p50: Math.max(a.p50, b.p50),
    p99: Math.max(a.p99, b.p99),
    errors: a.errors + b.errors,
    non2xx: a.non2xx + b.non2xx,
  };
}

/** Records and prints a skip when the backend's service does not answer; `true` then. */
async function unreachable({ name, service }) {
  if (!service || (await reachable(service.host, service.port))) return false;
  const line = `${name}: nothing listens on ${service.host}:${service.port}`;
  console.log(`SKIP ${line}`);
  skipped.push(line);
  return true;
}

function loadAverage() {
  return os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(" ");
}

function hostPort(url, defaultPort) {
  const { hostname, port } = new URL(url.includes("://") ? url : `tcp://${url.split(",")[0]}`);
  return { host: hostname.replace(/^\[|\]$/g, ""), port: Number(port || defaultPort) };
}

try {
  await main();
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
