// `--startup <n>`: how long a server-side manager takes to open, and the heap it keeps, with `n`
// sessions stored in Redis, side by side: the root `SessionManager` (which reads every stored
// session when it opens, to schedule their warnings) against the manager `SessionManagerStore`
// builds (which does not). Each opens in a process of its own (node --expose-gc startup.mjs
// <kind> <config>), three times, alternating; the median is reported.
import { execFileSync } from "node:child_process";
import { fileURLToPath, pathToFileURL } from "node:url";
import { table } from "../lib/table.mjs";
import { fmtInt } from "../lib/util.mjs";
import { namespaceOf } from "./apps/common.mjs";

const SELF = fileURLToPath(import.meta.url);
const KINDS = {
  "SessionManager (root entry)": "root",
  "SessionManagerStore's manager": "store",
};
const TIMES = 3;

/** Fills `n` sessions into a namespace of `run`, then opens each kind; prints a table. */
export async function measureStartup({ n, dist, redisUrl, run }) {
  const namespace = namespaceOf(run, "startup");
  const config = JSON.stringify({ dist, redisUrl, namespace });
  execFileSync(process.execPath, [SELF, "fill", config, String(n)], { stdio: "inherit" });
  const rows = [];
  const runs = Object.fromEntries(Object.values(KINDS).map((kind) => [kind, []]));
  for (let time = 0; time < TIMES; time++) {
    const order = time % 2 === 0 ? Object.values(KINDS) : Object.values(KINDS).reverse();
    for (const kind of order) {
      const out = execFileSync(process.execPath, ["--expose-gc", SELF, kind, config], {
        encoding: "utf8",
      });
      runs[kind].push(JSON.parse(out));
    }
  }
  const median = (list, key) => list.map((r) => r[key]).sort((a, b) => a - b)[list.length >> 1];
  for (const [label, kind] of Object.entries(KINDS)) {
    const ms = median(runs[kind], "ms");
    const mb = median(runs[kind], "heapMB");
    rows.push([label, fmtInt(ms), mb.toFixed(1), runs[kind].map((r) => fmtInt(r.ms)).join(", ")]);
  }
  console.log(
    table(
      `start-up with ${fmtInt(n)} sessions in Redis (median of ${TIMES}, a process each)`,
      ["", "ready in ms", "heap kept MB", "runs ms"],
      rows,
    ),
  );
  return Object.fromEntries(Object.entries(runs));
}

/** In a child process: fill the namespace, or open one kind and print `{ ms, heapMB }`. */
async function child(kind, config, n) {
  const { dist, redisUrl: url, namespace } = JSON.parse(config);
  const load = (file) => import(pathToFileURL(`${dist}/${file}`).href);
  const { SessionManager } = await load("index.js");
  if (kind === "fill") {
    const sm = new SessionManager({ backend: "redis", url, namespace, defaultTtl: "1h" });
    const batch = 500;
    for (let i = 0; i < n; i += batch) {
      const ids = Array.from({ length: Math.min(batch, n - i) }, (_, j) => `s${i + j}`);
      await Promise.all(ids.map((id, j) => sm.add(id, { data: { user: `u${i + j}` } })));
    }
    await sm.close();
    return;
  }
  const { SessionManagerStore } = await load("express-session.js");
  // ioredis and the store's code loaded first: what is timed is the opening alone.
  await import("ioredis");
  await load("stores/redis.js");
  globalThis.gc();
  const before = process.memoryUsage().heapUsed;
  const start = performance.now();
  const options = { backend: "redis", url, namespace };
  const store = kind === "store" ? new SessionManagerStore(options) : undefined;
  const manager = store?.manager ?? new SessionManager(options);
  while (manager.status === "loading") await new Promise((resolve) => setTimeout(resolve, 1));
  const ms = performance.now() - start;
  globalThis.gc();
  const heapMB = (process.memoryUsage().heapUsed - before) / 1e6;
  await manager.close();
  process.stdout.write(JSON.stringify({ ms, heapMB }));
}

if (process.argv[1] === SELF) {
  const [kind, config, n] = process.argv.slice(2);
  await child(kind, config, Number(n));
  process.exit(0);
}
