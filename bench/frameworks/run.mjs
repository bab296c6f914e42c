// The UI bindings and activity tracking, measured side by side in one run (issue 12):
//   npm run bench:frameworks   (npm run build && node bench/frameworks/run.mjs [part …])
// Parts (all by default): `renders`, `activity`, `size`.
//   renders   100 components, each on one session, in real Chromium (/usr/bin/chromium or
//             CHROMIUM_PATH): React with `useSession` against two hand-wired patterns (useState +
//             manager.on + an initial get), then the same for Vue. Per touch of one session: how
//             many components render, and the time from `touch()` to that component's commit.
//             TOUCHES (200) touches per round, ROUNDS (3) rounds, alternating modes.
//   activity  writes per throttle window with 1, 5 and 10 tabs and a user typing all the time:
//             `sm.trackActivity` against a per-tab throttle. SECONDS (5) per run.
//   size      each binding's gzip cost alone and beyond the core; react-idle-timer beside them.
// Uses the build (dist/; the npm script builds first), or SESSIONMANAGER_DIST=<folder> for
// another (a build of its own is safe from another `npm run build` replacing dist/ meanwhile:
// `npx tsup --out-dir bench/results/dist`). Raw numbers: bench/results/frameworks.json.
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { built } from "../lib/dist.mjs";
import { table } from "../lib/table.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const parts = process.argv.slice(2).length
  ? process.argv.slice(2)
  : ["renders", "activity", "size"];
const env = (name, fallback) => Number(process.env[name] ?? fallback);

for (const file of ["core.js", "stores/memory.js"]) built(file);

const kB = (bytes) => `${(bytes / 1000).toFixed(2)} kB`;
const ms = (x) => x.toFixed(3);
const results = {
  date: new Date().toISOString(),
  node: process.version,
  cpus: `${os.cpus().length} × ${os.cpus()[0]?.model}`,
};
const notMeasured = [];

// Sizes first, a few seconds after the build (printed last): the other parts take minutes, in
// which another build may replace dist/.
const sized = parts.includes("size") ? await (await import("./size.mjs")).measureSize() : undefined;

if (parts.includes("renders")) {
  const { measureRenders } = await import("./renders.mjs");
  const touches = env("TOUCHES", 200);
  const rounds = env("ROUNDS", 3);
  const { rows, failures } = await measureRenders({ touches, rounds });
  results.renders = rows;
  notMeasured.push(...failures.map((f) => `renders, ${f.framework}: ${f.error}`));
  console.log(
    table(
      `1. Re-renders: 100 components, one session each; one touch of one session (Chromium, ${touches * rounds} touches)`,
      [
        "framework, wiring",
        "manager listeners",
        "components rendered",
        "renders/touch",
        "touch ms",
        "touch→commit ms",
        "p95 ms",
      ],
      rows.map((r) => [
        `${r.framework}, ${r.mode}`,
        r.listeners,
        r.mode === "no components"
          ? "-"
          : r.componentsMin === r.componentsMax
            ? r.componentsMin
            : `${r.componentsMin}–${r.componentsMax}`,
        r.mode === "no components" ? "-" : r.rendersPerTouch.toFixed(2),
        ms(r.touchMedian),
        ms(r.median),
        ms(r.p95),
      ]),
      [
        "target: one touch re-renders exactly one component (the one showing that session)",
        "touch ms: `await sm.touch(id)` alone; touch→commit: until that component's layout effect",
        "  (React) or onUpdated (Vue) ran with the new version; medians over rounds",
        "hand-wired, filtered: useState/shallowRef + on(added|touched|updated|removed|expired)",
        "  filtered by id + an initial get; hand-wired, reload: every event re-reads with get",
        "memory store, production builds of React 19 / Vue 3.5, bundled by esbuild",
      ],
    ),
  );
  for (const r of rows.filter((row) => row.mode === "useSession")) {
    const exact = r.componentsMin === 1 && r.componentsMax === 1 && r.touchedRendered === r.touches;
    console.log(
      `  ${r.framework} useSession: ${exact ? "met" : "NOT met"} (the touched session's component` +
        ` rendered in ${r.touchedRendered} of ${r.touches} touches; components per touch:` +
        ` ${r.componentsMin === r.componentsMax ? r.componentsMin : `${r.componentsMin}–${r.componentsMax}`})`,
    );
  }
}

if (parts.includes("activity")) {
  const { measureActivity, DEFAULT_THROTTLE } = await import("./activity.mjs");
  const out = await measureActivity({ seconds: env("SECONDS", 5) });
  results.activity = out;
  notMeasured.push(...out.failures.map((f) => `activity: ${f.error}`));
  const perMinute = (r) => (r.perWindow * 60_000) / DEFAULT_THROTTLE;
  console.log(
    table(
      `2. Activity: store writes with a user typing all the time (throttle ${out.throttle} ms, a key every ${out.keyEvery} ms, ${out.seconds} s per run)`,
      [
        "user, tabs, tracker",
        "store reads",
        "writes",
        "of which applied",
        "writes/window",
        "writes/min at 60 s",
      ],
      out.rows.map((r) => [
        `${r.user}, ${r.tabs} tab${r.tabs > 1 ? "s" : ""}, ${r.tracker}`,
        r.reads,
        r.writes,
        r.written,
        r.perWindow.toFixed(2),
        perMinute(r).toFixed(2),
      ]),
      [
        "target: one write per throttle window in all, whatever the number of tabs",
        "writes: store.set calls (conditional; 'applied' succeeded), counted while typing; reads:",
        "  store.get calls (a tab whose local gate opens re-reads before it decides to write)",
        "per minute at 60 s: the default throttle with the default ttl and warnBefore",
        "  (min(1 min, (30m − 1m) / 2)), scaled from the windows measured",
        `one tab at a time: the user moves to the next tab every ${out.switchEvery} windows`,
      ],
    ),
  );
}

if (sized) {
  const out = sized;
  results.size = out;
  notMeasured.push(...out.failures.map((f) => `size, ${f.part}: ${f.error}`));
  console.log(
    table(
      "3. Size (esbuild, minified ESM, gzip -9; kB = 1000 bytes; react/vue external)",
      ["artifact", "minified", "gzip", "gzip beyond the core", "CI limit", "target"],
      [
        [
          "core SessionManager (dist/core.js), for scale",
          kB(out.core.minified),
          kB(out.core.gzip),
          "",
          "",
          "",
        ],
        ...out.rows.map((r) => [
          r.name,
          kB(r.alone.minified),
          kB(r.alone.gzip),
          r.reference ? "" : kB(r.beyondCore),
          r.limit ? kB(r.limit) : "",
          r.target ? `≤ ${kB(r.target)} beyond the core` : "",
        ]),
      ],
      [
        "alone: the entry bundled by itself; beyond the core: bundled with the core",
        "  SessionManager, less the core alone (what the binding adds to a page that has the core)",
        "CI limit: .size-limit.cjs, which measures the entry alone, as size-limit counts",
      ],
    ),
  );
}

if (notMeasured.length) {
  console.log("\nNot measured:");
  for (const line of notMeasured) console.log(`  - ${line}`);
}
results.notMeasured = notMeasured;
const out = join(here, "..", "results");
mkdirSync(out, { recursive: true });
writeFileSync(join(out, "frameworks.json"), `${JSON.stringify(results, null, 2)}\n`);
