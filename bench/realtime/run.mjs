// Realtime load bench: `npm run bench:realtime` (builds first, then runs bench/realtime/run.mjs).
// Two server processes from the built package on one Redis (or PostgreSQL; or one process on the
// memory backend), N event streams open on them (GET /v1/events, one owner per stream, read by a
// separate load-generator process), M changes per second written through process 1 to owners
// whose streams are on process 2 (across) and on process 1 (within). Measured in one run: delivery
// latency from write to receipt, memory per open stream, event-loop delay and CPU of the servers
// while changes flow, and the same changes seen by polling GET /v1/changes every 30 s (today's
// clients) as the baseline, with the request load that polling puts on the servers.
//
//   node bench/realtime/run.mjs [--streams 1000] [--rate 100] [--seconds 20]
//                              [--backend redis|postgres|memory] [--layout split|one] [--url URL]
//                              [--heap-diff]
//
// --layout split (default) opens half the streams on each process; one opens them all on
// process 2 (every delivery then crosses processes, and one process holds N streams). Figures go
// to the console and to bench/realtime/results.json (one entry per backend, streams and layout).
// --heap-diff also prints what an open stream keeps on the heap of the fullest server process, by
// constructor (two heap snapshots; slow beyond a few thousand streams).
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { distPath } from "../lib/dist.mjs";
import { table } from "../lib/table.mjs";
import { fmtInt } from "../lib/util.mjs";
import { mintToken } from "../server/load.mjs";
import { reachable } from "../server/processes.mjs";
import { cleanUp, serverOptions } from "./backends.mjs";
import { heapDiff } from "./heap.mjs";
import { startClient, startServer } from "./processes.mjs";
import { percentiles, pollingLatencies, pollPhases } from "./stats.mjs";
import { createWriter, key } from "./writer.mjs";

const SECRET = "bench-secret-that-is-long-enough-for-hs256";
const POLL_MS = 30_000;
const FAST_POLL_MS = 1_000;
const IDLE_SECONDS = 5;
const DRAIN_MS = 5_000;
const WARM_STREAMS = 50;
const KEEP_ALIVE_MS = 6_000;
/** CPU pressure (PSI some avg10, %) above which the timings are flagged as the machine's. */
const BUSY_PRESSURE = 85;
const TARGETS = { acrossP99Ms: 250, heapPerStreamKB: 20, delayP99Ms: 20, oneProcessStreams: 5000 };
const RESULTS = fileURLToPath(new URL("./results.json", import.meta.url));

const { values: flags } = parseArgs({
  options: {
    streams: { type: "string", default: "1000" },
    rate: { type: "string", default: "100" },
    seconds: { type: "string", default: "20" },
    warmup: { type: "string", default: "3" },
    "poll-seconds": { type: "string", default: "10" },
    backend: { type: "string", default: "redis" },
    layout: { type: "string", default: "split" },
    url: { type: "string" },
    concurrency: { type: "string", default: "100" },
    "heap-diff": { type: "boolean", default: false },
  },
});
const N = Number(flags.streams);
const RATE = Number(flags.rate);
const SECONDS = Number(flags.seconds);
const POLL_SECONDS = Number(flags["poll-seconds"]);
const backend = flags.backend;
const layout = backend === "memory" ? "one" : flags.layout;
const run = `rt_${process.pid}_${Date.now().toString(36)}`;
const tmp = mkdtempSync(join(os.tmpdir(), "sessionmanager-realtime-"));

const log = (line) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);
const kb = (bytes) => bytes / 1024;
const f1 = (x) => x.toFixed(1);
const f0 = (x) => fmtInt(x);
/** The share of time some task waited for a CPU over the last 10 s (Linux PSI), or undefined. */
const cpuPressure = () => {
  try {
    return Number(/some avg10=([\d.]+)/.exec(readFileSync("/proc/pressure/cpu", "utf8"))?.[1]);
  } catch {
    return undefined;
  }
};
const loadAverage = () =>
  os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(" ");

async function main() {
  if (!existsSync(distPath("server.js"))) throw new Error("dist/ is missing: run `npm run build`");
  if (!["split", "one"].includes(layout)) throw new Error(`--layout split|one, got ${layout}`);
  const options = serverOptions(backend, flags.url, run, SECRET);
  if (options.service && !(await reachable(options.service.host, options.service.port))) {
    console.log(
      `SKIP ${backend}: nothing listens on ${options.service.host}:${options.service.port}`,
    );
    return;
  }
  const cpu = os.cpus();
  const env = {
    node: process.version,
    cpus: cpu.length,
    cpu: cpu[0]?.model,
    loadAverageStart: loadAverage(),
    cpuPressureStart: cpuPressure(),
    date: new Date().toISOString(),
  };
  log(
    `realtime bench: ${backend}, ${fmtInt(N)} streams (${layout}), ${RATE} changes/s for ${SECONDS} s;` +
      ` Node ${env.node}, ${env.cpus} CPUs, load average ${env.loadAverageStart}`,
  );
  const servers = [];
  let client;
  try {
    const count = backend === "memory" ? 1 : 2;
    for (let i = 1; i <= count; i++) servers.push(await startServer(options.serve, `process ${i}`));
    client = await startClient();
    log(
      `servers ${servers.map((s) => `${s.url} (pid ${s.pid})`).join(", ")}; load generator pid ${client.pid}`,
    );
    const result = await measure(servers, client);
    result.env = { ...env, loadAverageEnd: loadAverage(), cpuPressureEnd: cpuPressure() };
    report(result);
    save(result);
  } finally {
    await client?.stop();
    await Promise.all(servers.map((s) => s.stop()));
    for (const s of servers) {
      if (s.stderr().trim()) console.log(`${s.name} stderr:\n${s.stderr().trim().slice(0, 2000)}`);
    }
    await cleanUp(options).catch((error) => console.log(`clean-up failed: ${error.message}`));
  }
}

/** The owners (one per stream), where each stream is, and whether writes to it cross processes. */
async function makeOwners(servers) {
  const [first, second] = servers;
  const owners = [];
  for (let i = 0; i < N; i++) {
    const on = !second ? first : layout === "one" || i % 2 === 1 ? second : first;
    const owner = `o${i}`;
    owners.push({
      owner,
      token: await mintToken(SECRET, owner),
      server: on,
      url: on.url,
      side: on === first ? "within" : "across",
    });
  }
  return owners;
}

const statsOf = (servers, message) =>
  Promise.all(servers.map((s) => s.ask({ type: "stats", ...message }, "stats")));

async function measure(servers, client) {
  const owners = await makeOwners(servers);
  const targets = owners.map(({ owner, token, url }) => ({ owner, token, url }));
  const writer = createWriter(servers[0].url, owners);
  const receipts = new Map();
  client.child.on("message", (message) => {
    if (message?.type !== "receipts") return;
    for (const [owner, id, event, at] of message.list) {
      const k = key(owner, id, event);
      if (!receipts.has(k)) receipts.set(k, at);
    }
  });

  // Warm each server (routes compiled, pools and subscriber connected) so that "before" holds
  // only what every stream shares, then measure what the streams add.
  const warm = [];
  for (const s of servers) {
    for (let i = 0; i < WARM_STREAMS; i++) {
      const owner = `warm-${s.name.replace(/\W/g, "")}-${i}`;
      warm.push({ owner, token: await mintToken(SECRET, owner), url: s.url });
    }
  }
  await client.ask({ type: "open", streams: warm, concurrency: WARM_STREAMS }, "opened");
  await client.ask({ type: "close" }, "closed");
  const fullest = servers.reduce((a, b) =>
    owners.filter((o) => o.server === b).length > owners.filter((o) => o.server === a).length
      ? b
      : a,
  );
  const snapshots = flags["heap-diff"]
    ? ["before", "open", "closed"].map((name) => join(tmp, `${name}.heapsnapshot`))
    : [];
  if (snapshots[0]) await fullest.ask({ type: "snapshot", path: snapshots[0] }, "snapshot");
  const before = await statsOf(servers, { gc: true, reset: true });
  log(`opening ${fmtInt(N)} streams`);
  const opened = await client.ask(
    { type: "open", streams: targets, concurrency: Number(flags.concurrency) },
    "opened",
    600_000,
  );
  log(
    `${fmtInt(opened.open)} open in ${f0(opened.ms)} ms, ${opened.failed} failed ${JSON.stringify(opened.errors)}`,
  );
  const withStreams = await statsOf(servers, { gc: true, reset: true });
  if (snapshots[1]) {
    await fullest.ask({ type: "snapshot", path: snapshots[1] }, "snapshot");
    await statsOf(servers, { reset: true });
  }
  await sleep(IDLE_SECONDS * 1000);
  const idle = await statsOf(servers, { reset: true });

  log(`warm-up: ${flags.warmup} s of changes`);
  await writer.run(RATE, Number(flags.warmup));
  await sleep(1000);
  await statsOf(servers, { reset: true });
  await client.ask({ type: "loop" }, "loop");
  log(`measuring: ${SECONDS} s at ${RATE} changes/s`);
  const writes = await writer.run(RATE, SECONDS);
  const during = await statsOf(servers, { reset: true });
  const clientLoop = await client.ask({ type: "loop" }, "loop");
  const pressureDuring = cpuPressure();
  await drain(writes.records, receipts);
  const delivery = deliveryFigures(writes.records, receipts);

  log("closing the streams");
  const closed = await client.ask({ type: "close" }, "closed");
  // The server ends a stream when its client goes, but the connection stays open as an idle
  // keep-alive one (Node's keepAliveTimeout, 5 s) and holds a socket: measure after that.
  await sleep(KEEP_ALIVE_MS);
  const afterClose = await statsOf(servers, { gc: true, reset: true });
  if (snapshots[2]) {
    await fullest.ask({ type: "snapshot", path: snapshots[2] }, "snapshot");
    await statsOf(servers, { reset: true });
  }

  // The same writes with no reader at all: what the streams and the polls add is measured over it.
  log(`writes alone: ${POLL_SECONDS} s at ${RATE} changes/s, no streams, no polls`);
  await writer.run(RATE, POLL_SECONDS);
  const writesAlone = await statsOf(servers, { reset: true });

  const polling = [];
  const phases = pollPhases(N);
  for (const [intervalMs, seconds] of [
    [POLL_MS, POLL_SECONDS],
    [FAST_POLL_MS, Math.min(5, POLL_SECONDS)],
  ]) {
    const rate = (N * 1000) / intervalMs;
    log(
      `polling: ${fmtInt(N)} clients every ${intervalMs / 1000} s (${f1(rate)} req/s) for ${seconds} s, ${RATE} changes/s`,
    );
    await statsOf(servers, { reset: true });
    const [polled, pollWrites] = await Promise.all([
      client.ask({ type: "poll", targets, rate, seconds, concurrency: 256 }, "polled", 600_000),
      writer.run(RATE, seconds),
    ]);
    const stats = await statsOf(servers, { reset: true });
    const latency = percentiles(
      pollingLatencies(
        writes.records.filter((r) => r.status < 300 && r.status > 0),
        {
          phases,
          intervalMs,
          pollMs: polled.latency.p50,
        },
      ),
    );
    polling.push({ intervalMs, rate, polled, writes: pollWrites.records.length, stats, latency });
  }
  const held = owners.filter((o) => o.server === fullest).length;
  const heap = snapshots[0]
    ? {
        process: fullest.name,
        open: heapDiff(snapshots[0], snapshots[1], held),
        closed: heapDiff(snapshots[0], snapshots[2], held, 10),
      }
    : undefined;
  return {
    heap,
    config: {
      backend,
      streams: N,
      layout,
      rate: RATE,
      seconds: SECONDS,
      processes: servers.length,
    },
    opened,
    unusualEvents: closed.unusual,
    servers: servers.map((s, i) => ({
      name: s.name,
      streams: owners.filter((o) => o.server === s).length,
      before: before[i],
      withStreams: withStreams[i],
      idle: idle[i],
      during: during[i],
      afterClose: afterClose[i],
    })),
    writes: { count: writes.records.length, skipped: writes.skipped, seconds: writes.seconds },
    writesAlone,
    cpuPressureDuring: pressureDuring,
    clientLoop,
    delivery,
    polling,
  };
}

/** Waits until every answered write's event has arrived, or DRAIN_MS. */
async function drain(records, receipts) {
  const until = Date.now() + DRAIN_MS;
  const ok = records.filter((r) => r.status === 200 || r.status === 201);
  while (Date.now() < until && ok.some((r) => !receipts.has(r.key))) await sleep(50);
}

function deliveryFigures(records, receipts) {
  const ok = records.filter((r) => r.status === 200 || r.status === 201);
  const failed = records.length - ok.length;
  const group = (rows) => {
    const got = rows.filter((r) => receipts.has(r.key));
    return {
      changes: rows.length,
      delivered: got.length,
      lost: rows.length - got.length,
      fromSent: percentiles(got.map((r) => receipts.get(r.key) - r.sentAt)),
      fromAnswered: percentiles(got.map((r) => receipts.get(r.key) - r.answeredAt)),
      write: percentiles(rows.map((r) => r.answeredAt - r.sentAt)),
    };
  };
  return {
    failedWrites: failed,
    statuses: countBy(
      records.filter((r) => r.status !== 200 && r.status !== 201),
      (r) => r.status,
    ),
    across: group(ok.filter((r) => r.side === "across")),
    within: group(ok.filter((r) => r.side === "within")),
    all: group(ok),
  };
}

function report(result) {
  const { delivery, servers, polling } = result;
  const ms = (x) => (x >= 1000 ? `${f1(x / 1000)} s` : `${f1(x)} ms`);
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
      `delivery: ${backend}, ${fmtInt(N)} streams (${layout}), ${RATE} changes/s for ${SECONDS} s`,
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

  const cpuPct = (s) => (s.cpuMs / s.windowMs) * 100;
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
        `idle CPU: streams open, no changes (${IDLE_SECONDS} s: heartbeats every 15 s only); CPU, ELU, delay: while the changes flowed`,
        "delay: monitorEventLoopDelay (10 ms sampling, the interval taken off); heap after close: heap − before, streams closed",
        "preempted: involuntary context switches per second; ELU far above CPU: the process waited for a CPU",
        "GC max: the longest garbage-collection pause in the window (collections, their total time)",
      ],
    ),
  );

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
      f1(RATE),
      "",
      "",
      "",
      `${f1(alone)}%`,
      ms(maxDelay(result.writesAlone)),
      "",
    ],
    [
      "event streams",
      `${f1(RATE)} (writes only)`,
      ms(live.fromSent.p50),
      ms(live.fromSent.p99),
      ms(live.fromSent.max),
      over(servers.map((s) => s.during)),
      ms(maxDelay(servers.map((s) => s.during))),
      "",
    ],
    ...polling.map((p) => [
      `polling every ${p.intervalMs / 1000} s`,
      `${f1(RATE + p.polled.rate)} (${f1(p.polled.rate)} of ${f1(p.rate)} polls)`,
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
      `streams against polling, ${fmtInt(N)} clients, ${RATE} changes/s`,
      ["", "requests/s", "latency p50", "p99", "max", "server CPU", "delay p99", "poll p50/p99"],
      compare,
      [
        `streams: latency ${live === delivery.across ? "across processes" : "within the process"} as measured above; no requests but the writes (heartbeats: ${f1(N / 15)} comment writes/s)`,
        "polling: each client polls GET /v1/changes?since=<its cursor> on a fixed schedule (its phase uniformly random);",
        "  latency computed for the same changes from that schedule: the next poll after the write was answered + a poll's p50",
        `  requests/s and server CPU measured: the polls at their rate for ${POLL_SECONDS} s (1 s: ${Math.min(5, POLL_SECONDS)} s) beside the same writes`,
        "server CPU: the server processes summed (100% = one core), (+ what the readers add over the writes alone); delay p99: the worse process",
      ],
    ),
  );
  if (result.heap) {
    const { process: name, open, closed } = result.heap;
    const rows = (diff) => diff.top.map((d) => [d.label, f0(d.bytes), d.objects.toFixed(2)]);
    const header = ["", "bytes/stream", "objects/stream"];
    console.log(
      table(
        `heap per open stream in ${name}, by constructor (${f1(kb(open.totalPerStream))} KB in all)`,
        header,
        rows(open),
        [
          "heap snapshots (after full GCs) before opening the streams and with them open; self sizes, summed by constructor",
        ],
      ),
    );
    console.log(
      table(
        `heap left per stream in ${name} once they closed (${f1(kb(closed.totalPerStream))} KB in all)`,
        header,
        rows(closed),
        ["the same, between before opening and after closing them (and after the writes)"],
      ),
    );
  }
  targets(result);
}

function targets(result) {
  const { delivery, servers } = result;
  const lines = [];
  const verdict = (ok) => (ok ? "PASS" : "MISS");
  if (delivery.across.changes > 0) {
    const p99 = delivery.across.fromSent.p99;
    const scale =
      N >= 1000 && RATE >= 100 ? "" : " (the target is at ≥1k streams and 100 changes/s)";
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
  lines.push(
    `event-loop delay p99 ≤ ${TARGETS.delayP99Ms} ms at ${RATE} changes/s (${fullest.name}): ${f1(delay)} ms -> ${verdict(delay <= TARGETS.delayP99Ms)}${few}`,
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

function save(result) {
  let all = {};
  try {
    all = JSON.parse(readFileSync(RESULTS, "utf8"));
  } catch {
    // first run
  }
  all[`${backend}-${N}-${layout}`] = result;
  writeFileSync(RESULTS, `${JSON.stringify(all, null, 2)}\n`);
  console.log(`figures: ${RESULTS}`);
}

function countBy(list, by) {
  const counts = {};
  for (const item of list) counts[by(item)] = (counts[by(item)] ?? 0) + 1;
  return counts;
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

try {
  await main();
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
