// The console report of the realtime bench: delivery, the server processes, streams against
// polling, the heap per stream (--heap-diff), and the issue's targets, from a run's result.
import { table } from "../lib/table.mjs";
import { fmtInt } from "../lib/util.mjs";

/** The targets of issue 13 (bench, not timed tests). */
const TARGETS = { acrossP99Ms: 250, heapPerStreamKB: 20, delayP99Ms: 20, oneProcessStreams: 5000 };
/** CPU pressure (PSI some avg10, %) above which the timings are flagged as the machine's. */
const BUSY_PRESSURE = 85;

const kb = (bytes) => bytes / 1024;
const f1 = (x) => x.toFixed(1);
const f0 = (x) => fmtInt(x);
const ms = (x) => (x >= 1000 ? `${f1(x / 1000)} s` : `${f1(x)} ms`);

/** Prints the tables and the targets of `result`; sets `result.targets` to the target lines. */
export function report(result) {
  deliveryTable(result);
  serverTable(result);
  compareTable(result);
  if (result.heap) heapTables(result.heap);
  targets(result);
}

/** Delivery latency across processes, within one, and of all. */
function deliveryTable(result) {
  const { config, delivery } = result;
  const rows = ["across", "within", "all"]
    .filter((side) => delivery[side].changes > 0)
    .map((side) => {
      const d = delivery[side];
      return [
        side === "across" ? "across processes" : side === "within" ? "within one process" : "all",
        fmtInt(d.changes),
        fmtInt(d.lost),
        ms(d.fromSent.p50),
        ms(d.fromSent.p99),
        ms(d.fromSent.max),
        ms(d.fromAnswered.p50),
        ms(d.fromAnswered.p99),
        ms(d.write.p50),
        ms(d.write.p99),
      ];
    });
  console.log(
    table(
      `delivery: ${config.backend}, ${fmtInt(config.streams)} streams (${config.layout}), ${config.rate} changes/s for ${config.seconds} s`,
      [
        "stream on",
        "changes",
        "lost",
        "p50",
        "p99",
        "max",
        "p50 ans.",
        "p99 ans.",
        "write p50",
        "write p99",
      ],
      rows,
      [
        "p50/p99/max: receipt by the stream reader − when the write was sent (the write's own round trip included)",
        "ans.: receipt − when the write was answered (negative: the event came before the answer)",
        `writes all through process 1 (PUT create, POST touch, PUT replace, DELETE, round each owner's session); ${delivery.failedWrites} failed ${JSON.stringify(delivery.statuses)}`,
        "lost: answered writes whose event had not arrived 5 s after the last write",
        `the load generator's own event-loop delay meanwhile (part of every receipt time): p99 ${ms(result.clientLoop.p99)}, max ${ms(result.clientLoop.max)}`,
        `machine CPU pressure (PSI some avg10) at the end of the window: ${result.cpuPressureDuring ?? "?"}% (share of time some task waited for a CPU)`,
      ],
    ),
  );
}

const cpuPct = (s) => (s.cpuMs / s.windowMs) * 100;

/** Memory per stream, CPU, event-loop delay and GC of each server process. */
function serverTable(result) {
  const { config, servers } = result;
  console.log(
    table(
      "server processes",
      [
        "",
        "streams",
        "heap/stream",
        "RSS/stream",
        "idle CPU",
        "CPU",
        "ELU",
        "preempted",
        "delay p50",
        "delay p99",
        "delay max",
        "GC max",
        "heap after close",
      ],
      servers.map((s) => [
        s.name,
        fmtInt(s.streams),
        s.streams
          ? `${f1(kb(s.withStreams.memory.heapUsed - s.before.memory.heapUsed) / s.streams)} KB`
          : "",
        s.streams ? `${f1(kb(s.withStreams.memory.rss - s.before.memory.rss) / s.streams)} KB` : "",
        `${f1(cpuPct(s.idle))}%`,
        `${f1(cpuPct(s.during))}%`,
        `${f1(s.during.elu * 100)}%`,
        `${f1(s.during.preempted / (s.during.windowMs / 1000))}/s`,
        ms(s.during.delay.p50),
        ms(s.during.delay.p99),
        ms(s.during.delay.max),
        `${ms(s.during.gc.maxMs)} (${s.during.gc.count}, ${f0(s.during.gc.totalMs)} ms)`,
        `${f1(kb(s.afterClose.memory.heapUsed - s.before.memory.heapUsed) / 1024)} MB`,
      ]),
      [
        "heap/stream, RSS/stream: (after opening − before) / streams on the process, both after full GCs",
        `idle CPU: streams open, no changes (${config.idleSeconds} s: heartbeats every 15 s only); CPU, ELU, delay: while the changes flowed`,
        "delay: monitorEventLoopDelay (10 ms sampling, the interval taken off); heap after close: heap − before, streams closed",
        "preempted: involuntary context switches per second; ELU far above CPU: the process waited for a CPU",
        "GC max: the longest garbage-collection pause in the window (collections, their total time)",
      ],
    ),
  );
}

/** Streams against polling every 30 s and every 1 s: latency, requests and server CPU. */
function compareTable(result) {
  const { config, delivery, servers, polling } = result;
  const sumCpu = (list) => list.reduce((t, s) => t + cpuPct(s), 0);
  const maxDelay = (list) => Math.max(...list.map((s) => s.delay.p99));
  const live = delivery.across.changes > 0 ? delivery.across : delivery.within;
  const alone = sumCpu(result.writesAlone);
  const over = (list) => {
    const more = sumCpu(list) - alone;
    return `${f1(sumCpu(list))}% (${more < 0 ? "-" : "+"}${f1(Math.abs(more))})`;
  };
  const compare = [
    [
      "writes alone, no readers",
      f1(config.rate),
      "",
      "",
      "",
      `${f1(alone)}%`,
      ms(maxDelay(result.writesAlone)),
      "",
    ],
    [
      "event streams",
      `${f1(config.rate)} (writes only)`,
      ms(live.fromSent.p50),
      ms(live.fromSent.p99),
      ms(live.fromSent.max),
      over(servers.map((s) => s.during)),
      ms(maxDelay(servers.map((s) => s.during))),
      "",
    ],
    ...polling.map((p) => [
      `polling every ${p.intervalMs / 1000} s`,
      `${f1(config.rate + p.polled.rate)} (${f1(p.polled.rate)} of ${f1(p.rate)} polls)`,
      ms(p.latency.p50),
      ms(p.latency.p99),
      ms(p.latency.max),
      over(p.stats),
      ms(maxDelay(p.stats)),
      `${ms(p.polled.latency.p50)} / ${ms(p.polled.latency.p99)}${p.polled.errors ? `, ${p.polled.errors} errors` : ""}`,
    ]),
  ];
  console.log(
    table(
      `streams against polling, ${fmtInt(config.streams)} clients, ${config.rate} changes/s`,
      ["", "requests/s", "latency p50", "p99", "max", "server CPU", "delay p99", "poll p50/p99"],
      compare,
      [
        `streams: latency ${live === delivery.across ? "across processes" : "within the process"} as measured above; no requests but the writes (heartbeats: ${f1(config.streams / 15)} comment writes/s)`,
        "polling: each client polls GET /v1/changes?since=<its cursor> on a fixed schedule (its phase uniformly random);",
        "  latency computed for the same changes from that schedule: the next poll after the write was answered + a poll's p50",
        `  requests/s and server CPU measured: the polls at their rate for ${config.pollSeconds} s (1 s: ${Math.min(5, config.pollSeconds)} s) beside the same writes`,
        "server CPU: the server processes summed (100% = one core), (+ what the readers add over the writes alone); delay p99: the worse process",
      ],
    ),
  );
}

/** What an open stream keeps on the heap, and what is left once the streams closed. */
function heapTables(heap) {
  {
    const { process: name, open, closed } = heap;
    const rows = (diff) =>
      diff.top.map((d) => [d.label, f0(d.bytes), d.objects.toFixed(2), d.heldBy]);
    const header = ["", "bytes/stream", "objects/stream", "held mostly by"];
    console.log(
      table(
        `heap per open stream in ${name}, by constructor (${f1(kb(open.totalPerStream))} KB in all)`,
        header,
        rows(open),
        [
          "heap snapshots (after full GCs) before opening the streams and with them open: the objects of the second the first did not hold, self sizes summed by constructor",
          "closures by name and where they are defined (file:line); held mostly by: the first retainer (constructor.edge) of most of those bytes",
        ],
      ),
    );
    console.log(
      table(
        `heap left per stream in ${name} once they closed (${f1(kb(closed.totalPerStream))} KB in all)`,
        header,
        rows(closed),
        [
          "the same: what is new since before opening them and still held after closing them (and after the writes)",
        ],
      ),
    );
  }
}

function targets(result) {
  const { config } = result;
  const { delivery, servers } = result;
  const lines = [];
  const verdict = (ok) => (ok ? "PASS" : "MISS");
  if (delivery.across.changes > 0) {
    const p99 = delivery.across.fromSent.p99;
    const scale =
      config.streams >= 1000 && config.rate >= 100
        ? ""
        : " (the target is at ≥1k streams and 100 changes/s)";
    lines.push(
      `cross-process delivery p99 ≤ ${TARGETS.acrossP99Ms} ms: ${f1(p99)} ms, ${delivery.across.lost} lost -> ${verdict(p99 <= TARGETS.acrossP99Ms && delivery.across.lost === 0)}${scale}`,
    );
  } else lines.push("cross-process delivery: not measured (one process)");
  const fullest = servers.reduce((a, b) => (b.streams > a.streams ? b : a));
  const heap =
    kb(fullest.withStreams.memory.heapUsed - fullest.before.memory.heapUsed) / fullest.streams;
  const delay = fullest.during.delay.p99;
  const few =
    fullest.streams < TARGETS.oneProcessStreams
      ? ` (${fmtInt(fullest.streams)} streams in ${fullest.name}; the target is at 5,000 in one process: --streams 10000, or --streams 5000 --layout one)`
      : "";
  lines.push(
    `heap per stream ≤ ${TARGETS.heapPerStreamKB} KB (${fullest.name}): ${f1(heap)} KB -> ${verdict(heap <= TARGETS.heapPerStreamKB)}${few}`,
  );
  // A process with no streams (layout one: it takes the writes) in the same window: what the
  // machine adds to every delay.
  const control = servers.find((s) => s.streams === 0);
  const base = control
    ? ` (${control.name}, no streams but the writes, same window: ${f1(control.during.delay.p99)} ms)`
    : "";
  lines.push(
    `event-loop delay p99 ≤ ${TARGETS.delayP99Ms} ms at ${config.rate} changes/s (${fullest.name}): ${f1(delay)} ms${base} -> ${verdict(delay <= TARGETS.delayP99Ms)}${few}`,
  );
  const pressure = result.cpuPressureDuring;
  if (pressure !== undefined && pressure > BUSY_PRESSURE) {
    lines.push(
      `warning: tasks waited for a CPU ${pressure}% of the time while the changes flowed (PSI): the timings may say more about the machine than about the server (the bench's own processes account for part of it); run again on a quieter machine`,
    );
  }
  result.targets = lines;
  console.log(`\ntargets:\n${lines.map((l) => `  ${l}`).join("\n")}`);
  const { loadAverageStart, loadAverageEnd, cpuPressureStart, cpuPressureEnd } = result.env;
  console.log(
    `load average ${loadAverageStart} at start, ${loadAverageEnd} at end; CPU pressure (PSI some avg10)` +
      ` ${cpuPressureStart ?? "?"}% at start, ${cpuPressureEnd ?? "?"}% at end: other processes skew timings`,
  );
}
