// One server process of the realtime bench: `serve` from the built package (dist/server.js) on
// 127.0.0.1 and a free port, with the options the parent passes as JSON in argv[2]. It answers the
// parent over IPC (it is forked with `--expose-gc`), so that nothing the bench asks for goes
// through the server's own HTTP routes or event loop more than a message does:
//
//   { type: "stats", gc, reset }  -> { type: "stats", memory, delay, cpu, elu }
//   { type: "snapshot", path }    -> { type: "snapshot" } once a heap snapshot (after full GCs)
//                                    is written to `path` (--heap-diff)
//   { type: "stop" }              -> closes the server (open streams end), then exits
//
// `memory` is `process.memoryUsage()` (after two full collections when `gc`); `delay` the
// event-loop delay since the last reset (monitorEventLoopDelay, ms, the sampling interval taken
// off: see DELAY_RESOLUTION_MS); `cpu` the process's CPU time since the last reset (ms) and
// `elu` the event-loop utilisation over the same window (busy share, 0..1; it counts time the
// process could run but waited for a CPU, so ELU well above the CPU share means a busy machine),
// `preempted` the involuntary context switches in the window, `gc` the collections in it (count,
// total and longest pause, ms).
import { monitorEventLoopDelay, PerformanceObserver, performance } from "node:perf_hooks";
import { writeHeapSnapshot } from "node:v8";
import { fromDist } from "../lib/dist.mjs";

// The sampler fires every DELAY_RESOLUTION_MS and records the time between two firings, so an
// idle loop records the interval itself: it is subtracted from every figure reported.
const DELAY_RESOLUTION_MS = 10;
const NS_PER_MS = 1e6;

const options = JSON.parse(process.argv[2] ?? "{}");
const { serve } = await fromDist("server.js");
const server = await serve({ ...options, host: "127.0.0.1", port: 0 });

const delay = monitorEventLoopDelay({ resolution: DELAY_RESOLUTION_MS });
delay.enable();
let cpuFrom = process.cpuUsage();
let eluFrom = performance.eventLoopUtilization();
let windowFrom = performance.now();
let switchesFrom = process.resourceUsage().involuntaryContextSwitches;
// Garbage-collection pauses in the window: a heap that grows with the streams makes them longer.
let pauses = { count: 0, totalMs: 0, maxMs: 0 };
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    pauses.count += 1;
    pauses.totalMs += entry.duration;
    pauses.maxMs = Math.max(pauses.maxMs, entry.duration);
  }
}).observe({ entryTypes: ["gc"] });

function collect() {
  globalThis.gc();
  globalThis.gc();
}

/** What the parent asked for, read now; `reset` starts a new window for delay, CPU and ELU. */
async function stats({ gc = false, reset = false }) {
  if (gc) {
    collect();
    // Let finalizers and freed sockets settle, then collect again.
    await new Promise((resolve) => setTimeout(resolve, 50));
    collect();
  }
  const memory = process.memoryUsage();
  const cpu = process.cpuUsage(cpuFrom);
  const elu = performance.eventLoopUtilization(eluFrom);
  const ms = (ns) => Math.max(0, ns / NS_PER_MS - DELAY_RESOLUTION_MS);
  const reading = {
    type: "stats",
    memory: { rss: memory.rss, heapUsed: memory.heapUsed, external: memory.external },
    delay: {
      samples: delay.count,
      p50: ms(delay.percentile(50)),
      p99: ms(delay.percentile(99)),
      max: ms(delay.max),
    },
    windowMs: performance.now() - windowFrom,
    cpuMs: (cpu.user + cpu.system) / 1000,
    elu: elu.utilization,
    // Times the kernel took the CPU away while the process could run: high on a busy machine.
    preempted: process.resourceUsage().involuntaryContextSwitches - switchesFrom,
    gc: pauses,
  };
  if (reset) {
    pauses = { count: 0, totalMs: 0, maxMs: 0 };
    switchesFrom = process.resourceUsage().involuntaryContextSwitches;
    delay.reset();
    cpuFrom = process.cpuUsage();
    eluFrom = performance.eventLoopUtilization();
    windowFrom = performance.now();
  }
  return reading;
}

let stopping;
function stop() {
  stopping ??= server
    .close()
    .catch((error) => console.error(`close: ${error?.message ?? error}`))
    .finally(() => process.exit(0));
  return stopping;
}

process.on("message", async (message) => {
  if (message?.type === "stats") process.send(await stats(message));
  else if (message?.type === "snapshot") {
    collect();
    writeHeapSnapshot(message.path);
    process.send({ type: "snapshot" });
  } else if (message?.type === "stop") await stop();
});
process.once("SIGTERM", stop);
process.once("disconnect", stop);
process.send({ type: "listening", url: server.url, pid: process.pid });
