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
import { fmtInt } from "../lib/util.mjs";
import { mintToken } from "../server/load.mjs";
import { reachable } from "../server/processes.mjs";
import { cleanUp, serverOptions } from "./backends.mjs";
import { heapDiff } from "./heap.mjs";
import { startClient, startServer } from "./processes.mjs";
import { report } from "./report.mjs";
import { percentiles, pollingLatencies, pollPhases } from "./stats.mjs";
import { createWriter, key } from "./writer.mjs";

const SECRET = "bench-secret-that-is-long-enough-for-hs256";
const POLL_MS = 30_000;
const FAST_POLL_MS = 1_000;
const IDLE_SECONDS = 5;
const DRAIN_MS = 5_000;
const WARM_STREAMS = 50;
const KEEP_ALIVE_MS = 6_000;
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
      pollSeconds: POLL_SECONDS,
      idleSeconds: IDLE_SECONDS,
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
