// Section 1: ops/s of add, get, touch, remove at N sessions, five implementations side by side.

import { table } from "../lib/table.mjs";
import { assert, fmtInt, fmtPct, gc, makeKeys, now } from "../lib/util.mjs";
import { IMPLS, OPS } from "./impls.mjs";

export const THROUGHPUT_PLAN = [
  { n: 100_000, runs: 5 },
  { n: 1_000_000, runs: 2 },
];

/** One run of one implementation: a fresh instance, then add, get, touch, remove over all keys. */
async function runOnce(impl, keys) {
  const n = keys.length;
  const store = await impl.create(n);
  const ms = {};
  for (const op of OPS) {
    const start = now();
    const count = await impl[op](store, keys);
    ms[op] = now() - start;
    assert(count === n, `${impl.name} ${op}: ${count} of ${n} calls succeeded`);
  }
  await impl.close(store);
  return ms;
}

/** Best (fastest) time per implementation and op over `runs` runs, implementations interleaved. */
async function measure(n, runs) {
  const keys = makeKeys(n);
  const all = Object.fromEntries(
    IMPLS.map((impl) => [impl.name, { add: [], get: [], touch: [], remove: [] }]),
  );
  for (let run = 0; run < runs; run++) {
    for (const impl of IMPLS) {
      gc();
      const ms = await runOnce(impl, keys);
      for (const op of OPS) all[impl.name][op].push(ms[op]);
    }
  }
  const result = {};
  for (const impl of IMPLS) {
    result[impl.name] = {};
    for (const op of OPS) {
      const runsMs = all[impl.name][op];
      const ms = Math.min(...runsMs);
      result[impl.name][op] = {
        ms,
        opsPerSec: n / (ms / 1000),
        runsMs,
        spread: Math.max(...runsMs) / ms,
      };
    }
  }
  return result;
}

/** The least stable measurement: slowest run / fastest run. */
function widestSpread(byImpl) {
  let widest = { spread: 1, what: "-" };
  for (const [name, ops] of Object.entries(byImpl)) {
    for (const op of OPS) {
      if (ops[op].spread > widest.spread)
        widest = { spread: ops[op].spread, what: `${name} ${op}` };
    }
  }
  return widest;
}

function ratios(byImpl) {
  const sm = byImpl["sessionmanager (memory)"];
  const base = byImpl["async TTL baseline"];
  const mapGet = byImpl.Map.get.opsPerSec;
  return {
    smGetVsAsyncGet: sm.get.opsPerSec / base.get.opsPerSec,
    smAddVsAsyncSet: sm.add.opsPerSec / base.add.opsPerSec,
    getVsMapGet: Object.fromEntries(
      Object.entries(byImpl).map(([name, ops]) => [name, ops.get.opsPerSec / mapGet]),
    ),
  };
}

function render({ n, runs, byImpl, ratios: r }) {
  const widest = widestSpread(byImpl);
  const smSpread = byImpl["sessionmanager (memory)"].add.spread;
  const rows = Object.entries(byImpl).map(([name, ops]) => [
    name,
    ...OPS.map((op) => fmtInt(ops[op].opsPerSec)),
    fmtPct(r.getVsMapGet[name]),
  ]);
  return table(
    `1. Throughput, N = ${fmtInt(n)} (ops/s, best of ${runs} run${runs > 1 ? "s" : ""})`,
    ["implementation", "add/set", "get", "touch", "remove", "get vs Map get"],
    rows,
    [
      `sessionmanager get / async-baseline get = ${fmtPct(r.smGetVsAsyncGet)} (target >= 50%)`,
      `sessionmanager add / async-baseline set = ${fmtPct(r.smAddVsAsyncSet)} (target >= 30%)`,
      `run-to-run spread (slowest / fastest run): sessionmanager add ${smSpread.toFixed(2)}x,` +
        ` widest ${widest.spread.toFixed(2)}x (${widest.what})`,
    ],
  );
}

export async function runThroughput(plan = THROUGHPUT_PLAN) {
  const results = [];
  for (const { n, runs } of plan) {
    const byImpl = await measure(n, runs);
    const entry = { n, runs, byImpl, ratios: ratios(byImpl) };
    console.log(render(entry));
    results.push(entry);
  }
  console.log(
    [
      "  * each op = N sequential calls over keys user0..user{N-1} on a fresh instance per run;",
      "    sync APIs (Map, lru-cache) called directly, async ones awaited one by one.",
      "  * data { n: i } for every implementation; touch = Map/lru set(k, get(k)),",
      "    unstorage setItem again, async baseline / sessionmanager touch(k).",
      "  * implementations interleaved within each run; forced gc before each implementation's run.",
    ].join("\n"),
  );
  return results;
}
