// How soon a change in one tab is seen in another, in real Chromium: `npm run bench:tabs`.
// Two pages of one origin load the script-tag bundle (dist/, so build first); page A adds
// sessions one by one, page B timestamps each `added` event it hears. The clock is
// performance.timeOrigin + performance.now(), which pages of one browser share. Baseline: a bare
// BroadcastChannel message between the same two pages. Uses /usr/bin/chromium (CHROMIUM_PATH).
import { readFileSync } from "node:fs";
import { chromiumArgs } from "../../test/helpers/chromium.mjs";
import { serveAndLaunch } from "../lib/browser.mjs";
import { built } from "../lib/dist.mjs";
import { table } from "../lib/table.mjs";

const count = Number(process.argv[2] ?? 300);
const bundle = readFileSync(built("sessionmanager.global.js"));
const page = `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,">
<script src="/sessionmanager.global.js"></script>`;
const args = [
  ...chromiumArgs,
  // Page B sits behind page A; without these, Chromium's throttling of hidden pages is what gets
  // measured (it adds up to ~10 ms at p99 to the bare channel too).
  "--disable-renderer-backgrounding",
  "--disable-background-timer-throttling",
  "--disable-backgrounding-occluded-windows",
];

const { url, browser, stop } = await serveAndLaunch({
  html: page,
  scriptPath: "/sessionmanager.global.js",
  script: bundle,
  args,
});

/** Milliseconds from send in A to receipt in B, for `count` messages sent 5 ms apart. */
async function measure(scenario) {
  const context = await browser.newContext();
  const [a, b] = [await context.newPage(), await context.newPage()];
  await a.goto(url);
  await b.goto(url);
  const now = "performance.timeOrigin + performance.now()";
  await b.evaluate(
    ([scenario, namespace]) => {
      window.delays = [];
      const at = () => performance.timeOrigin + performance.now();
      if (scenario === "BroadcastChannel") {
        new BroadcastChannel(namespace).onmessage = (e) => window.delays.push(at() - e.data.t);
      } else {
        window.sm = new sessionmanager.SessionManager({ backend: scenario, namespace });
        window.sm.on("added", (s) => window.delays.push(at() - s.data.t));
        return window.sm.ready;
      }
    },
    [scenario, `bench-${scenario}`],
  );
  await a.bringToFront();
  await a.evaluate(
    async ([scenario, namespace, count, now]) => {
      const at = new Function(`return ${now}`);
      const channel = scenario === "BroadcastChannel" ? new BroadcastChannel(namespace) : null;
      const sm = channel
        ? null
        : new sessionmanager.SessionManager({ backend: scenario, namespace });
      await sm?.ready;
      for (let i = 0; i < count; i++) {
        if (channel) channel.postMessage({ t: at() });
        else await sm.add(`s${i}`, { data: { t: at() } });
        await new Promise((r) => setTimeout(r, 5));
      }
    },
    [scenario, `bench-${scenario}`, count, now],
  );
  await b.waitForFunction((count) => window.delays.length >= count, count, { timeout: 30_000 });
  const delays = (await b.evaluate(() => window.delays)).sort((x, y) => x - y);
  await context.close();
  const pick = (q) => delays[Math.min(delays.length - 1, Math.floor(q * delays.length))];
  return { scenario, n: delays.length, p50: pick(0.5), p99: pick(0.99), max: delays.at(-1) };
}

const rows = [];
for (const scenario of ["BroadcastChannel", "localStorage", "indexedDB"]) {
  rows.push(await measure(scenario));
}
await stop();
console.log(
  table(
    `A change in one tab, seen in another (${count} changes, 5 ms apart, Chromium)`,
    ["path", "changes", "p50 ms", "p99 ms", "max ms"],
    rows.map((r) => [
      r.scenario === "BroadcastChannel"
        ? "bare BroadcastChannel (baseline)"
        : `sm.add on ${r.scenario}`,
      r.n,
      r.p50.toFixed(2),
      r.p99.toFixed(2),
      r.max.toFixed(2),
    ]),
    ["target: p99 <= 5 ms for the manager", "clock: performance.timeOrigin + performance.now()"],
  ),
);
