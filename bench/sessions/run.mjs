// Server-side sessions side by side in one run (issue 14): `npm run bench:sessions` (builds first).
//   1. Express 5 + express-session: our SessionManagerStore against connect-redis 9 (the `redis`
//      5 client, its documented setup), both on the same Redis. Target: ≥ 1.0× req/s and fewer
//      Redis commands per read.
//   2. Hono on @hono/node-server: our cookie sessions (cookieSessions + its Hono middleware)
//      against the floor, one ioredis GET of the key the cookie names (nothing signed). Target:
//      ≥ 0.8× req/s.
// Each app runs in its own process; a signed-in cookie (POST /login) is read with GET /me
// (resave false, saveUninitialized false for express-session). Before any load, a read must answer
// the signed-in data (and a read without the cookie 401); then Redis commands per read are counted
// with MONITOR over --reads sequential reads; then autocannon (in this process) loads each app for
// --duration seconds, --rounds times, the pair's order alternating per round. A piece of ours that
// is not in the build is reported "not available"; its baseline is still measured.
//
//   node bench/sessions/run.mjs [--duration 5] [--connections 50] [--rounds 2] [--warmup 2]
//                               [--sessions 1] [--reads 200] [--only express,hono]
//                               [--profile <app>] [--startup <n>]
//
// --profile runs one app alone under `node --cpu-prof` and prints where its CPU time went; apps:
// express-connect-redis, express-sessionmanager, hono-floor, hono-cookies. --startup <n> stores n
// sessions and times a root SessionManager opening on them against SessionManagerStore's manager
// (startup.mjs), instead of the load.
// Redis: REDIS_URL (default redis://127.0.0.1:6379). Every key of a run contains its run id
// (sb_<pid>_<time>), and is deleted at the end. Raw figures: bench/results/sessions.json.
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import { parseArgs } from "node:util";
import { reachable } from "../server/processes.mjs";
import { missing } from "./available.mjs";
import { commandsPerRead, deleteRunKeys } from "./commands.mjs";
import { checkRead, drive, readSequentially, signIn } from "./load.mjs";
import { startApp } from "./processes.mjs";
import { profileApp } from "./profile.mjs";
import { report } from "./report.mjs";
import { snapshotBuild } from "./snapshot.mjs";
import { measureStartup } from "./startup.mjs";

const RESULTS = new URL("../results/sessions.json", import.meta.url);
/**
 * Reads far enough apart that a store which throttles its touches (to one a second, or more)
 * touches on each: what a read costs a user who is not sending a burst of requests.
 */
const SPACED = { reads: 3, pauseMs: 1100 };

/** The pairs: ours against its baseline, and the target ratio of req/s. */
const PAIRS = [
  {
    name: "express",
    title: "Express 5 + express-session, Redis",
    baseline: { app: "express-connect-redis", label: "connect-redis 9 (redis 5)" },
    ours: { app: "express-sessionmanager", label: "SessionManagerStore" },
    target: 1.0,
    fewerCommands: true,
  },
  {
    name: "hono",
    title: "Hono (@hono/node-server), Redis",
    baseline: { app: "hono-floor", label: "floor: one ioredis GET" },
    ours: { app: "hono-cookies", label: "cookieSessions (Hono)" },
    target: 0.8,
    fewerCommands: false,
  },
];

const { values: flags } = parseArgs({
  options: {
    duration: { type: "string", default: "5" },
    connections: { type: "string", default: "50" },
    rounds: { type: "string", default: "2" },
    warmup: { type: "string", default: "2" },
    sessions: { type: "string", default: "1" },
    reads: { type: "string", default: "200" },
    only: { type: "string" },
    profile: { type: "string" },
    startup: { type: "string" },
  },
});
const seconds = Number(flags.duration);
const connections = Number(flags.connections);
const rounds = Number(flags.rounds);
const warmup = Number(flags.warmup);
const sessions = Number(flags.sessions);
const reads = Number(flags.reads);
const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const run = `sb_${process.pid}_${Date.now().toString(36)}`;
const config = { redisUrl, run };
/** The copy of the build the apps run (snapshot.mjs). */
let dist;

const log = (line) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);
const loadAverage = () =>
  os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(" ");
/** The share of time some task waited for a CPU over the last 10 s (Linux PSI), or undefined. */
const cpuPressure = () => {
  try {
    return Number(/some avg10=([\d.]+)/.exec(readFileSync("/proc/pressure/cpu", "utf8"))?.[1]);
  } catch {
    return undefined;
  }
};

async function main() {
  const { hostname, port } = new URL(redisUrl);
  if (!(await reachable(hostname, Number(port || 6379)))) {
    console.log(`SKIP: nothing listens on ${hostname}:${port || 6379} (REDIS_URL)`);
    return;
  }
  const cpu = os.cpus();
  const env = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: `${cpu.length} × ${cpu[0]?.model}`,
    loadAverageStart: loadAverage(),
    cpuPressureStart: cpuPressure(),
  };
  log(
    `sessions bench ${run}: Node ${env.node}, ${env.cpus}, load average ${env.loadAverageStart},` +
      ` CPU pressure ${env.cpuPressureStart ?? "?"}%; ${seconds} s × ${rounds} rounds per app,` +
      ` ${connections} connections, ${sessions} signed-in cookie(s), Redis ${redisUrl}`,
  );
  const only = flags.only?.split(",");
  const results = [];
  const build = snapshotBuild();
  dist = build.dist;
  env.build = { from: build.from, builtAt: build.builtAt, ...sources() };
  if (flags.startup) {
    try {
      await measureStartup({ n: Number(flags.startup), dist, redisUrl, run });
    } finally {
      await deleteRunKeys(redisUrl, run);
      build.remove();
    }
    return;
  }
  if (flags.profile) {
    try {
      await profileApp({ app: flags.profile, config, dist, seconds, connections, sessions });
    } finally {
      await deleteRunKeys(redisUrl, run);
      build.remove();
    }
    return;
  }
  log(
    `build: ${build.from} written ${build.builtAt}, copied for this run; git ${env.build.head}` +
      `${env.build.uncommitted.length ? `, uncommitted at start: ${env.build.uncommitted.join(" ")}` : ""}`,
  );
  try {
    for (const pair of PAIRS) {
      if (only && !only.includes(pair.name)) continue;
      results.push(await measurePair(pair));
    }
  } finally {
    const deleted = await deleteRunKeys(redisUrl, run).catch((error) => {
      console.log(`clean-up failed: ${error.message}`);
      return 0;
    });
    log(`deleted ${deleted} Redis keys of ${run}`);
    build.remove();
  }
  env.loadAverageEnd = loadAverage();
  env.cpuPressureEnd = cpuPressure();
  const settings = { seconds, connections, rounds, warmup, sessions, reads, spaced: SPACED };
  const verdicts = report({ env, settings, results });
  save({ env, settings, results, verdicts });
  if (results.some((r) => r.problems.length > 0)) process.exitCode = 1;
}

/** Both apps of a pair: checks, commands per read, then alternating rounds of load. */
async function measurePair(pair) {
  const sides = [];
  const problems = [];
  for (const side of [pair.baseline, pair.ours]) {
    const entry = { ...side, rounds: [] };
    sides.push(entry);
    entry.unavailable = await missing(side.app, dist);
    if (entry.unavailable) {
      log(`${side.label}: not available: ${entry.unavailable}`);
      continue;
    }
    try {
      await prepare(entry);
    } catch (error) {
      entry.unavailable = `failed before the load: ${error.message.split("\n")[0]}`;
      problems.push(`${side.label}: ${error.message}`);
      log(`${side.label}: ${entry.unavailable}`);
      await entry.server?.stop();
    }
  }
  const live = sides.filter((s) => !s.unavailable);
  try {
    for (const side of live) await drive(side.server.url, load(side, warmup));
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? live : [...live].reverse();
      for (const side of order) {
        const cpuBefore = cpuMs(side.server.pid);
        const result = await drive(side.server.url, load(side, seconds));
        // The app's own CPU per request: less swayed than req/s by what else the machine runs.
        result.cpuUsPerRequest = ((cpuMs(side.server.pid) - cpuBefore) * 1000) / result.total;
        side.rounds.push(result);
        log(
          `${pair.name} round ${round + 1}: ${side.label} ${Math.round(result.rps)} req/s,` +
            ` p99 ${result.p99} ms${result.non2xx || result.errors ? `, ${result.non2xx} non-2xx, ${result.errors} errors` : ""}`,
        );
        if (result.non2xx || result.errors) {
          problems.push(`${side.label}: ${result.non2xx} non-2xx, ${result.errors} errors`);
        }
      }
    }
    // Still signed in after the load (rolling expiry, touches): the same data answers.
    for (const side of live) {
      await checkRead(side.server.url, side.cookies[0]).catch((error) =>
        problems.push(`${side.label}, read after the load: ${error.message}`),
      );
    }
  } finally {
    for (const side of live) {
      await side.server.stop();
      const stderr = side.server.stderr().trim();
      if (stderr) problems.push(`${side.label} stderr: ${stderr.slice(0, 1000)}`);
    }
  }
  for (const side of sides) {
    delete side.server;
    delete side.cookies;
  }
  return { ...pair, baseline: sides[0], ours: sides[1], problems };
}

/** The CPU time (user + system, ms) process `pid` has used so far (Linux /proc), or NaN. */
function cpuMs(pid) {
  try {
    // Fields after the command's ")": state is the 1st, utime the 12th, stime the 13th.
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return Number.NaN;
  }
}
// Linux's USER_HZ: /proc counts CPU time in these ticks per second.
const CLOCK_TICKS = 100;

/** Starts a side's app, signs in, checks a read, and counts its Redis commands per read. */
async function prepare(side) {
  side.server = await startApp(side.app, config, dist);
  side.cookies = await signIn(side.server.url, sessions);
  side.body = await checkRead(side.server.url, side.cookies[0]);
  log(`${side.label} (pid ${side.server.pid}) at ${side.server.url}: GET /me -> 200 ${side.body}`);
  const count = (n, pauseMs) =>
    commandsPerRead(redisUrl, run, n, () =>
      readSequentially(side.server.url, side.cookies, n, pauseMs),
    );
  const started = performance.now();
  const burst = await count(reads, 0);
  burst.seconds = (performance.now() - started) / 1000;
  side.commands = { burst, spaced: await count(SPACED.reads, SPACED.pauseMs) };
}

function load(side, duration) {
  return { cookies: side.cookies, seconds: duration, connections };
}

/** The commit the build came from, and our pieces' files that differed from it at the start. */
function sources() {
  const git = (...args) =>
    execFileSync("git", args, { cwd: new URL("../../", import.meta.url), encoding: "utf8" });
  try {
    const head = git("rev-parse", "--short", "HEAD").trim();
    const status = git("status", "--porcelain", "--", "src/express-session", "src/cookies");
    return {
      head,
      uncommitted: status
        .split("\n")
        .filter(Boolean)
        .map((l) => l.slice(3)),
    };
  } catch {
    return { head: "?", uncommitted: [] };
  }
}

function save(data) {
  mkdirSync(new URL(".", RESULTS), { recursive: true });
  writeFileSync(RESULTS, `${JSON.stringify(data, null, 2)}\n`);
  console.log(`figures: ${RESULTS.pathname}`);
}

await main();
