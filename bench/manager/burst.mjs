// Section 4: 100,000 sessions whose deadlines all come due at once, drained by the manager.
// The sessions get ttl 4s and warnBefore 2s; after inserting them the bench blocks the thread
// (busy wait, as a suspended laptop or a long synchronous task would) until every warning is
// due, releases the loop and watches it drain; then does the same for the expiries.
import { fromDist } from "../lib/dist.mjs";
import { table } from "../lib/table.mjs";
import { blockUntil, fmtInt, fmtMs, gc, makeKeys, now, settle } from "../lib/util.mjs";
import { watchLoopUntil } from "./loop-probe.mjs";

const { SessionManager } = await fromDist("index.js");

export const BURST = { n: 100_000, runs: 3, ttl: "4s", warnBefore: "2s", warnMs: 2000 };
const SAMPLE_EVERY = 1000; // ordering is checked on sessions 0, 1000, 2000, …
const TIMEOUT_MS = 60_000;

function listen(manager) {
  const ev = { warned: 0, expired: 0, seq: 0, lastAt: 0, sample: new Map() };
  Object.assign(ev, { msLeftMin: Infinity, msLeftMax: -Infinity });
  const mark = (id, field) => {
    ev.seq++;
    if (Number(id.slice(4)) % SAMPLE_EVERY !== 0) return;
    const entry = ev.sample.get(id) ?? {};
    entry[field] = ev.seq;
    ev.sample.set(id, entry);
  };
  manager.onExpiringSoon((session, msLeft) => {
    ev.warned++;
    ev.lastAt = now();
    ev.msLeftMin = Math.min(ev.msLeftMin, msLeft);
    ev.msLeftMax = Math.max(ev.msLeftMax, msLeft);
    mark(session.id, "warnedAt");
  });
  manager.onExpired((session) => {
    ev.expired++;
    ev.lastAt = now();
    mark(session.id, "expiredAt");
  });
  return ev;
}

/** Blocks until `dueAt` has passed, then watches the loop until `count()` reaches n. */
async function drainPhase(name, dueAt, count, ev) {
  blockUntil(dueAt);
  const released = now();
  const loop = await watchLoopUntil(() => count() >= BURST.n, TIMEOUT_MS);
  const drainMs = ev.lastAt - released;
  await settle(); // late or duplicate events would show up in the count now
  return { phase: name, events: count(), drainMs, ...loop };
}

function checkOrder(ev) {
  const samples = [...ev.sample.values()];
  const ordered = samples.filter((s) => s.warnedAt !== undefined && s.warnedAt < s.expiredAt);
  return { sampled: Math.ceil(BURST.n / SAMPLE_EVERY), ordered: ordered.length };
}

async function runOnce(keys) {
  gc();
  const { ttl, warnBefore } = BURST;
  const manager = new SessionManager({ backend: "memory", defaultTtl: ttl, warnBefore });
  await manager.ready;
  const ev = listen(manager);
  const insertStart = now();
  const first = await manager.add(keys[0], { data: null });
  let last = first;
  for (let i = 1; i < keys.length; i++) last = await manager.add(keys[i], { data: null });
  const insertMs = now() - insertStart;
  const spreadMs = last.expiresAt - first.expiresAt; // must stay below warnBefore (checked)
  const warn = await drainPhase("expiringSoon", last.expiresAt - BURST.warnMs, () => ev.warned, ev);
  const expire = await drainPhase("expired", last.expiresAt, () => ev.expired, ev);
  const getAfter = await manager.get(keys[0]);
  await manager.close();
  return {
    ...{ insertMs, spreadMs, overlap: spreadMs >= BURST.warnMs, phases: [warn, expire] },
    ...{ order: checkOrder(ev), msLeftMin: ev.msLeftMin, msLeftMax: ev.msLeftMax },
    goneAfterExpiry: getAfter === undefined,
  };
}

const medianBy = (runs, pick) => runs.map(pick).sort((a, b) => a - b)[Math.floor(runs.length / 2)];

export async function runBurst() {
  const keys = makeKeys(BURST.n);
  const runs = [];
  for (let i = 0; i < BURST.runs; i++) runs.push(await runOnce(keys));
  const longestTurn = (r) => Math.max(...r.phases.map((p) => p.maxTurnMs));
  const summary = {
    n: BURST.n,
    runs,
    medianLongestTurnMs: medianBy(runs, longestTurn),
    expiredEventsAllRuns: runs.map((r) => r.phases[1].events),
    warnEventsAllRuns: runs.map((r) => r.phases[0].events),
    ordered: runs.reduce((sum, r) => sum + r.order.ordered, 0),
    sampled: runs.reduce((sum, r) => sum + r.order.sampled, 0),
    goneAfterExpiry: runs.every((r) => r.goneAfterExpiry),
  };
  print(summary);
  return summary;
}

function print(s) {
  const rows = s.runs.flatMap((r, i) =>
    r.phases.map((p) => [
      `run ${i + 1} ${p.phase}`,
      fmtInt(p.events),
      p.timedOut ? `timed out (${TIMEOUT_MS} ms)` : fmtMs(p.drainMs),
      fmtMs(p.maxTurnMs),
      fmtMs(p.maxTurnCpuMs),
      fmtMs(p.elDelayMaxMs),
      `${p.busyTurns} / ${fmtMs(p.busyTurnMedianMs)}`,
      fmtInt(p.involuntarySwitches),
    ]),
  );
  const allExpired = s.expiredEventsAllRuns.every((count) => count === s.n);
  const notes = [
    ...s.runs.map(
      (r, i) =>
        `run ${i + 1}: inserted in ${fmtMs(r.insertMs)}, deadlines spread ${r.spreadMs} ms` +
        `${r.overlap ? " (>= warnBefore: the phases overlap!)" : ""}; msLeft seen ${r.msLeftMin}..${r.msLeftMax} ms`,
    ),
    "the thread is blocked until the last deadline of the phase is due, then released.",
    "drain = release -> last event. longest turn = max gap between setImmediate probe callbacks",
    "(primary); loop delay max = monitorEventLoopDelay({ resolution: 1 }).max; busy turns = probe",
    "gaps > 1 ms (drain slices) and their median. its CPU = process CPU time used during the longest",
    "turn (far below it = the thread was descheduled); preempted = involuntary context switches.",
    "The target uses the median over runs of the longest turn.",
    `median longest turn over ${s.runs.length} runs: ${fmtMs(s.medianLongestTurnMs)}`,
    `expired events per run: ${s.expiredEventsAllRuns.map(fmtInt).join(", ")} (expected ${fmtInt(s.n)}): ` +
      `${allExpired ? "OK" : "ASSERTION FAILED"}; expiringSoon: ${s.warnEventsAllRuns.map(fmtInt).join(", ")}`,
    `expiringSoon fired before expired for ${s.ordered} of ${s.sampled} sampled sessions; ` +
      `get() after expiry returned undefined: ${s.goneAfterExpiry ? "yes" : "NO"}`,
  ];
  const title = `4. Burst drain: ${fmtInt(s.n)} sessions due at once (ttl ${BURST.ttl}, warnBefore ${BURST.warnBefore})`;
  const header = [
    "run / phase",
    "events",
    "drain time",
    "longest turn",
    "its CPU",
    "loop delay max",
    "busy turns / median",
    "preempted",
  ];
  console.log(table(title, header, rows, notes));
}
