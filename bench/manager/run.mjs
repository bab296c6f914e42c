// The sessionmanager benchmark suite: `npm run bench` (npm run build && node --expose-gc
// bench/manager/run.mjs). Runs each section in turn on the built dist/ (bench/lib/dist.mjs),
// prints one table per section and a targets summary, and writes the raw numbers to
// bench/results/latest.json.
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { built } from "../lib/dist.mjs";
import { gc, now } from "../lib/util.mjs";
import { summarize } from "./targets.mjs";

const here = dirname(fileURLToPath(import.meta.url));
// Section modules import the build (../lib/dist.mjs), so they are loaded only after checking
// that it exists.
const SECTIONS = [
  ["throughput", "./throughput.mjs", "runThroughput"],
  ["memory", "./memory.mjs", "runMemory"],
  ["timers", "./timers.mjs", "runTimers"],
  ["burst", "./burst.mjs", "runBurst"],
  ["bundle", "./bundle.mjs", "runBundle"],
];

function environment() {
  return {
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    date: new Date().toISOString(),
    loadAverage: os.loadavg().map((x) => Number(x.toFixed(2))),
  };
}

async function main() {
  gc(); // fails early, with a hint, without --expose-gc
  for (const file of ["index.js", "stores/memory.js", "sessionmanager.global.js"]) built(file);
  const env = environment();
  console.log(
    `sessionmanager bench: Node ${env.node}, ${env.platform}, ${env.cpus} CPUs (${env.cpuModel}),` +
      ` load average ${env.loadAverage.join(" ")} (other processes skew timings)`,
  );
  const results = {};
  const errors = {};
  const seconds = {};
  for (const [name, file, fn] of SECTIONS) {
    const start = now();
    try {
      const run = (await import(file))[fn];
      results[name] = await run();
    } catch (error) {
      errors[name] = String(error?.stack ?? error);
      console.log(`\n== ${name}: FAILED ==\n${errors[name]}`);
    }
    seconds[name] = (now() - start) / 1000;
  }
  const targets = summarize(results, errors);
  const total = Object.values(seconds).reduce((a, b) => a + b, 0);
  env.loadAverageAtEnd = os.loadavg().map((x) => Number(x.toFixed(2)));
  console.log(`\nload average at end ${env.loadAverageAtEnd.join(" ")}`);
  console.log(
    `sections took ${Object.entries(seconds)
      .map(([k, s]) => `${k} ${s.toFixed(1)} s`)
      .join(", ")}; total ${total.toFixed(1)} s`,
  );
  const out = join(here, "..", "results", "latest.json");
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify({ env, seconds, results, errors, targets }, null, 2)}\n`);
  console.log(`raw results: ${out}`);
  if (
    Object.keys(errors).length > 0 ||
    targets.some((t) => t.target.startsWith("burst: expired") && t.pass === false)
  ) {
    process.exitCode = 1;
  }
}

await main();
