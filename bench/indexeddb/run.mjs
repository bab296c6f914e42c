// IndexedDB write benchmark in a real Chromium: `npm run bench:indexeddb` (node
// bench/indexeddb/run.mjs [n] [rounds]). Bundles page.js (the store and manager from src/, so no
// build is needed, and the store's source can be altered for VARIANT) with esbuild, serves it on 127.0.0.1 (a
// secure context), and times n sessions added concurrently through the manager against a raw
// IndexedDB baseline putting the same records into the same schema in ONE transaction. Scenarios
// alternate within each round, in one page; the table shows medians. Uses /usr/bin/chromium
// (CHROMIUM_PATH elsewhere); never downloads a browser. SCENARIOS=raw,manager picks scenarios;
// VARIANT (below) measures the store with an optimisation taken out. Writes results*.json here.
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromiumArgs } from "../../test/helpers/chromium.mjs";
import { bundlePage, serveAndLaunch } from "../lib/browser.mjs";
import { table } from "../lib/table.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const n = Number(process.argv[2] ?? 10_000);
const rounds = Number(process.argv[3] ?? 9);
const scenarios = (
  process.env.SCENARIOS ??
  [
    "raw,rawRelaxed,rawStrict,rawChecked,store,storeGetSet,manager,managerUnshared,managerMemory",
    "keyvalSetMany,managerSequential,managerTouchSequential,keyvalSet,localStorageRaw",
    "localStorageManager",
    "localStorageSequential",
  ].join(",")
).split(",");
// Scenarios that write one record per transaction (or per awaited call) run on n / 20 records:
// at ~3k puts/s, 10,000 of them would take the whole run. Rates stay comparable.
const unbatched = new Set([
  "managerSequential",
  "managerTouchSequential",
  "keyvalSet",
  "localStorageSequential",
]);
const count = (s) => (unbatched.has(s) ? Math.max(1, Math.round(n / 20)) : n);
const labels = {
  raw: "raw: put n in ONE transaction (baseline)",
  rawRelaxed: "raw, durability relaxed",
  rawStrict: "raw, durability strict",
  rawChecked: "raw: n gets, then n adds (the manager's work by hand)",
  store: "store: n concurrent set(ifAbsent)",
  storeGetSet: "store: n concurrent gets, then n set(ifAbsent)",
  manager: "manager: n concurrent sm.add",
  managerUnshared: "manager, store not shared (no tab messages)",
  managerMemory: "manager on the memory store (no IndexedDB)",
  keyvalSetMany: "idb-keyval setMany: ONE transaction, no index (reference)",
  managerSequential: "manager: sm.add awaited one by one (unbatched)",
  managerTouchSequential: "manager: sm.touch awaited one by one (unbatched)",
  keyvalSet: "idb-keyval set awaited one by one (reference)",
  localStorageRaw: "localStorage: n setItem of the JSON by hand (baseline)",
  localStorageManager: "manager on localStorage: n concurrent sm.add",
  localStorageSequential: "manager on localStorage: sm.add awaited one by one",
};
const args = chromiumArgs;

// VARIANT=nobatch (a transaction per call) or noprefetch (a get per id) builds the store with
// that optimisation taken out, to measure what it is worth; the source is not changed.
const variants = {
  nobatch: ["if (queue.push(op) === 1) queueMicrotask(flush);", "queue.push(op); flush();"],
  noprefetch: ["const PREFETCH = 16;", "const PREFETCH = Infinity;"],
};
const variant = variants[process.env.VARIANT ?? ""];
// The store's sources: src/stores/indexeddb.ts or the files of src/stores/indexeddb/.
let ablated = 0;
const ablate = {
  name: "ablate",
  setup(b) {
    b.onLoad({ filter: /stores[\\/]indexeddb(?:[\\/][^\\/]+)?\.ts$/ }, async (args) => {
      const source = readFileSync(args.path, "utf8");
      if (!source.includes(variant[0])) return undefined;
      ablated += 1;
      return { contents: source.replace(variant[0], variant[1]), loader: "ts" };
    });
  },
};
const script = await bundlePage(join(here, "page.js"), {
  target: "es2022",
  plugins: variant ? [ablate] : [],
});
if (variant && ablated === 0) throw new Error(`VARIANT: ${variant[0]} not found in the store`);
const { url, browser, stop } = await serveAndLaunch({
  html: '<!doctype html><script type="module" src="/page.js"></script>',
  scriptPath: "/page.js",
  script,
  args,
});
try {
  const page = await browser.newPage();
  page.on("console", (m) => m.type() === "error" && console.error("page:", m.text()));
  await page.goto(url);
  await page.waitForFunction(() => window.bench);
  const durability = await page.evaluate(() => window.bench.defaultDurability());
  const times = Object.fromEntries(scenarios.map((s) => [s, []]));
  // One warm-up round (JIT, IndexedDB backing store), then the measured rounds.
  for (let round = -1; round < rounds; round++) {
    const order = round % 2 ? scenarios : [...scenarios].reverse();
    for (const s of order) {
      const ms = await page.evaluate(([name, size]) => window.bench[name](size), [s, count(s)]);
      if (round >= 0) times[s].push(ms);
    }
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  // Time per record against the baseline of the same storage, so unbatched rows compare too.
  const perRecord = (s) => median(times[s]) / count(s);
  const baseline = (s) => (s.startsWith("localStorage") ? "localStorageRaw" : "raw");
  const rows = scenarios.map((s) => {
    const m = median(times[s]);
    const base = times[baseline(s)]?.length
      ? `${(perRecord(s) / perRecord(baseline(s))).toFixed(2)}x`
      : "";
    return [
      labels[s],
      count(s).toLocaleString("en"),
      m.toFixed(1),
      `${Math.round(count(s) / (m / 1000)).toLocaleString("en")}`,
      base,
    ];
  });
  console.log(
    table(
      `IndexedDB and localStorage${variant ? ` (${process.env.VARIANT})` : ""}: sessions added, median of ${rounds} (Chromium ${browser.version()})`,
      ["scenario", "sessions", "ms", "sessions/s", "per session vs baseline"],
      rows,
      [
        `a transaction that asks for no durability gets "${durability}"`,
        "baseline: raw IndexedDB put in one transaction; localStorage rows: localStorageRaw",
        "target: manager <= 1.2x raw",
      ],
    ),
  );
  const result = {
    date: new Date().toISOString(),
    chromium: browser.version(),
    n,
    rounds,
    durability,
    // Rounded, and no per-round times: the file stays small and as biome formats it.
    counts: Object.fromEntries(scenarios.map((s) => [s, count(s)])),
    medians: Object.fromEntries(scenarios.map((s) => [s, Math.round(median(times[s]) * 10) / 10])),
  };
  const file = `results${variant ? `-${process.env.VARIANT}` : ""}.json`;
  writeFileSync(join(here, file), `${JSON.stringify(result, null, 2)}\n`);
} finally {
  await stop();
}
