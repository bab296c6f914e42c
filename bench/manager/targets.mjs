// The final summary: each target, the measured value and PASS/MISS, computed from the results.
import { table } from "../lib/table.mjs";
import { fmtInt, fmtPct } from "../lib/util.mjs";

const SM = "sessionmanager (memory)";
// "Longest turn ~10 ms": a turn up to 1.2x that counts as meeting it. The measured value is
// printed next to the verdict either way.
const MAX_TURN_MS = 12;

function throughputTargets(throughput = []) {
  return throughput.flatMap(({ n, ratios }) => [
    [
      `sm get / async get >= 50% @${fmtInt(n)}`,
      fmtPct(ratios.smGetVsAsyncGet),
      ratios.smGetVsAsyncGet >= 0.5,
    ],
    [
      `sm add / async set >= 30% @${fmtInt(n)}`,
      fmtPct(ratios.smAddVsAsyncSet),
      ratios.smAddVsAsyncSet >= 0.3,
    ],
  ]);
}

function memoryTargets(memory = {}) {
  const at1M = memory[1_000_000]?.[SM];
  if (!at1M) return [];
  const bytes = at1M.heapBytesPerSession;
  return [["sm heap per session <= 300 B @1,000,000", `${bytes.toFixed(1)} B`, bytes <= 300]];
}

function timerTargets(timers = { rows: [] }) {
  return timers.rows.map((r) => [
    `live timers = 1 @${fmtInt(r.n)}`,
    String(r.liveTimers),
    r.liveTimers === 1,
  ]);
}

function burstTargets(burst) {
  if (!burst) return [];
  const { n, medianLongestTurnMs: turn } = burst;
  const all = (counts) => counts.every((count) => count === n);
  const list = (counts) => counts.map(fmtInt).join(", ");
  return [
    [
      `burst: expired events = ${fmtInt(n)} (each run)`,
      list(burst.expiredEventsAllRuns),
      all(burst.expiredEventsAllRuns),
    ],
    [
      `burst: expiringSoon events = ${fmtInt(n)} (each run)`,
      list(burst.warnEventsAllRuns),
      all(burst.warnEventsAllRuns),
    ],
    [
      "burst: expiringSoon before expired (sample)",
      `${burst.ordered}/${burst.sampled}`,
      burst.ordered === burst.sampled,
    ],
    [
      `burst: longest turn ~10 ms (<= ${MAX_TURN_MS} ms, median of runs)`,
      `${turn.toFixed(2)} ms`,
      turn <= MAX_TURN_MS,
    ],
  ];
}

function bundleTargets(bundle) {
  if (!bundle) return [];
  // Each size budget with a target; the others (stores alone) are shown in section 5 only.
  return bundle.budgets
    .filter((b) => b.target !== undefined)
    .map((b) => [
      `${b.name}: gzip <= ${(b.target / 1000).toFixed(2)} kB`,
      `${(b.gzip / 1000).toFixed(2)} kB`,
      b.gzip <= b.target,
    ]);
}

const verdict = (pass) => (pass === null ? "-" : pass ? "PASS" : "MISS");

/** Prints the summary; returns the rows as { target, measured, pass } objects. */
export function summarize(results, errors) {
  const rows = [
    ...throughputTargets(results.throughput),
    ...memoryTargets(results.memory),
    ...timerTargets(results.timers),
    ...burstTargets(results.burst),
    ...bundleTargets(results.bundle),
    ...Object.keys(errors).map((section) => [`section "${section}" ran`, "error", false]),
  ];
  console.log(
    table(
      "Targets",
      ["target", "measured", "result"],
      rows.map(([target, measured, pass]) => [target, measured, verdict(pass)]),
    ),
  );
  return rows.map(([target, measured, pass]) => ({ target, measured, pass }));
}
