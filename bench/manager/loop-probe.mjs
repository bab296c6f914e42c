// Watches the event loop while something drains: a setImmediate chain records the longest gap
// between consecutive callbacks (= the longest loop turn), and monitorEventLoopDelay
// (resolution 1 ms) gives a second opinion. For the longest turn it also records the process
// CPU time spent in it: CPU far below wall time means the thread was descheduled (a busy
// machine), not busy. Resolves once `isDone()` or after `timeoutMs`.
import { monitorEventLoopDelay } from "node:perf_hooks";
import { now } from "../lib/util.mjs";

const cpuMs = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

function createProbeStats() {
  const start = now();
  const stats = { start, last: start, lastCpu: cpuMs(), maxGap: 0, maxGapCpu: 0, turns: 0 };
  stats.busy = []; // gaps over 1 ms: the turns in which something (a drain slice) ran
  stats.switchesAtStart = process.resourceUsage().involuntaryContextSwitches;
  stats.tick = () => {
    const t = now();
    const cpu = cpuMs();
    const gap = t - stats.last;
    if (gap > stats.maxGap) Object.assign(stats, { maxGap: gap, maxGapCpu: cpu - stats.lastCpu });
    if (gap > 1) stats.busy.push(gap);
    Object.assign(stats, { last: t, lastCpu: cpu, turns: stats.turns + 1 });
  };
  return stats;
}

export function watchLoopUntil(isDone, timeoutMs) {
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  const stats = createProbeStats();
  return new Promise((resolve) => {
    const finish = (timedOut) => {
      clearTimeout(guard);
      histogram.disable();
      resolve({
        timedOut,
        maxTurnMs: stats.maxGap,
        maxTurnCpuMs: stats.maxGapCpu,
        probeTurns: stats.turns,
        busyTurns: stats.busy.length,
        busyTurnMedianMs: median(stats.busy),
        involuntarySwitches:
          process.resourceUsage().involuntaryContextSwitches - stats.switchesAtStart,
        elDelayMaxMs: histogram.max / 1e6,
        watchedMs: now() - stats.start,
      });
    };
    const guard = setTimeout(() => finish(true), timeoutMs);
    const tick = () => {
      stats.tick();
      if (isDone()) finish(false);
      else setImmediate(tick);
    };
    setImmediate(tick);
  });
}

function median(values) {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}
