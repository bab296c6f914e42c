// One engine's run, shared by firefox.test.ts and webkit.test.ts: the browser test files in pages
// of the engine (each in-page test reported as a vitest test of its own name), then two windows of
// one origin on one namespace (BroadcastChannel between real tabs, the sweep under a Web Lock).
// The engine runs while vitest collects the file (top-level await), so that every in-page test is
// known by name before the tests are defined.
import { describe, expect, it } from "vitest";
import { type Engine, type EngineName, type EngineWindow, launch, missing } from "./drivers.ts";
import type { EngineResult, EngineRun } from "./page/vitest.ts";
import { servePages, testFiles } from "./server.ts";

interface FileOutcome {
  label: string;
  results: EngineResult[];
  /** Errors thrown outside any test (the page's script failed to load, an unhandled rejection). */
  pageErrors: string[];
  ms: number;
}

interface TabsOutcome {
  backend: string;
  statuses: string[];
  events: [string[], string[]];
  /** Whether each window still has the short session after both heard it expire. */
  hasExpired: [boolean, boolean];
}

interface Outcome {
  version: string;
  files: FileOutcome[];
  tabs: TabsOutcome[];
  ms: number;
}

const FILE_TIMEOUT = 300_000;

async function until<T>(
  poll: () => Promise<T>,
  done: (value: T) => boolean,
  ms: number,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await poll();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function runFile(win: EngineWindow, origin: string, label: string): Promise<FileOutcome> {
  const started = performance.now();
  await win.goto(`${origin}/page/${encodeURIComponent(label)}`);
  const state = () =>
    win.evaluate<{ run: EngineRun | null; errors: string[] }>(
      "({ run: window.__engineRun ?? null, errors: window.__pageErrors ?? [] })",
    );
  // A page whose script never starts the run (it failed to load) is given up on sooner.
  const begun = await until(state, (s) => s.run !== null, 30_000);
  const finished = begun.run
    ? await until(state, (s) => s.run?.done === true, FILE_TIMEOUT)
    : begun;
  const ms = performance.now() - started;
  return { label, results: finished.run?.results ?? [], pageErrors: finished.errors, ms };
}

/** Two windows of one origin, each a manager on the same namespace. */
export async function runTabs(
  engine: Engine,
  origin: string,
  backend: string,
  // A window in the background may run its timers once a second at most (Firefox): a warning
  // 300 ms before a 1 s expiry makes its timer wake after the expiry, which must still warn first.
  { warnBefore = 300, ttl = 1000 } = {},
): Promise<TabsOutcome> {
  const windows = [await engine.open(), await engine.open()] as const;
  for (const win of windows) await win.goto(`${origin}/page/tab`);
  const namespace = `two-windows-${backend}-${Math.random().toString(36).slice(2, 8)}`;
  const [a, b] = windows;
  const statuses: string[] = [];
  for (const win of windows) {
    statuses.push(
      await win.evaluate<string>(
        `window.tab.start(${JSON.stringify(namespace)}, ${JSON.stringify(backend)}, ${warnBefore})`,
      ),
    );
  }
  const events = (win: EngineWindow) => win.evaluate<string[]>("window.tab.events");
  const heard = (win: EngineWindow, line: string) =>
    until(
      () => events(win),
      (e) => e.includes(line),
      10_000,
    );

  await a.evaluate(`window.tab.add("user1", { name: "Ada" }, 60000)`);
  await heard(b, 'added user1 {"name":"Ada"}');
  await a.evaluate(`window.tab.update("user1", { name: "Grace" })`);
  await heard(b, 'updated user1 {"name":"Grace"}');
  await b.evaluate(`window.tab.remove("user1")`);
  await heard(a, 'removed user1 {"name":"Grace"}');

  await a.evaluate(`window.tab.add("short", null, ${ttl})`);
  await heard(a, "expired short null");
  await heard(b, "expired short null");
  await new Promise((r) => setTimeout(r, 1500)); // a late duplicate would show by now
  const hasExpired: [boolean, boolean] = [
    await a.evaluate<boolean>(`window.tab.has("short")`),
    await b.evaluate<boolean>(`window.tab.has("short")`),
  ];
  const outcome: TabsOutcome = {
    backend,
    statuses,
    events: [await events(a), await events(b)],
    hasExpired,
  };
  for (const win of windows) await win.evaluate("window.tab.close()");
  return outcome;
}

async function run(name: EngineName): Promise<Outcome> {
  const started = performance.now();
  const server = await servePages();
  let engine: Engine | undefined;
  try {
    engine = await launch(name);
    const win = await engine.open();
    const files: FileOutcome[] = [];
    for (const label of Object.keys(testFiles))
      files.push(await runFile(win, server.origin, label));
    const tabs = [
      await runTabs(engine, server.origin, "localStorage"),
      await runTabs(engine, server.origin, "indexedDB"),
    ];
    return { version: engine.version, files, tabs, ms: performance.now() - started };
  } finally {
    await engine?.close();
    await server.close();
  }
}

/** How a test of page/harness-check.ts must end, by its title. */
function expectedState(title: string): EngineResult["state"] {
  if (title.startsWith("fails:")) return "fail";
  return title.startsWith("skipped:") ? "skip" : "pass";
}

function defineHarnessCheck({ results, pageErrors }: FileOutcome): void {
  it("the in-page harness reports passes, failures, timeouts and skips as they are", () => {
    const titles = results.map((r) => r.path.at(-1) ?? "");
    expect(titles).toHaveLength(9);
    expect(results.map((r) => `${r.state} ${r.path.at(-1)}`)).toEqual(
      titles.map((title) => `${expectedState(title)} ${title}`),
    );
    expect(results.find((r) => r.path.at(-1)?.includes("timeout"))?.error).toContain(
      "timed out in 100 ms",
    );
    expect(pageErrors).toEqual([]);
  });
}

function defineFile(file: FileOutcome): void {
  if (file.label === "harness-check") {
    defineHarnessCheck(file);
    return;
  }
  const { label, results, pageErrors } = file;
  describe(label, () => {
    if (results.length === 0) {
      it("loads and runs its tests", () => {
        throw new Error(`no test ran; page errors: ${pageErrors.join("; ") || "none"}`);
      });
    }
    for (const result of results) {
      const title = result.path.join(" > ");
      if (result.state === "skip") it.skip(title, () => undefined);
      else {
        it(title, () => {
          if (result.state === "fail") throw new Error(result.error);
        });
      }
    }
    it("threw nothing outside its tests", () => {
      expect(pageErrors).toEqual([]);
    });
  });
}

function defineTabs({ backend, statuses, events, hasExpired }: TabsOutcome): void {
  describe(`two windows of one origin, ${backend}`, () => {
    const [a, b] = events;
    it("both managers are ready", () => {
      expect(statuses).toEqual(["ready", "ready"]);
    });
    it("an add and an update in one window fire added and updated in the other", () => {
      expect(b).toContain('added user1 {"name":"Ada"}');
      expect(b).toContain('updated user1 {"name":"Grace"}');
    });
    it("a remove in one window fires removed in the other", () => {
      expect(a).toContain('removed user1 {"name":"Grace"}');
    });
    it("each window warns once and hears expired once, in that order", () => {
      const short = (lines: string[]) => lines.filter((line) => line.includes(" short "));
      expect(short(a)).toEqual([
        "added short null",
        "expiringSoon short null",
        "expired short null",
      ]);
      expect(short(b)).toEqual([
        "added short null",
        "expiringSoon short null",
        "expired short null",
      ]);
    });
    it("the expired session is gone for both", () => {
      expect(hasExpired).toEqual([false, false]);
    });
  });
}

/** Defines the engine's tests; call with top-level await from the engine's test file. */
export async function engineTests(name: EngineName): Promise<void> {
  const absent = missing(name);
  const required = process.env.REQUIRE_SERVICES === "1";
  if (absent && !required) {
    console.warn(`[engines] WARNING: ${name} tests skipped: ${absent}`);
    describe.skip(name, () => it.skip(`${name} is not installed: ${absent}`, () => undefined));
    return;
  }
  let outcome: Outcome;
  try {
    if (absent) throw new Error(`REQUIRE_SERVICES=1 and ${absent}`);
    outcome = await run(name);
  } catch (error) {
    describe(name, () => {
      it("launches and runs the test pages", () => {
        throw error;
      });
    });
    return;
  }
  const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const files = outcome.files.map((f) => `${f.label} ${seconds(f.ms)}`).join(", ");
  console.log(`[engines] ${outcome.version}: ran in ${seconds(outcome.ms)} (${files})`);
  describe(`${name} (${outcome.version})`, () => {
    for (const file of outcome.files) defineFile(file);
    for (const tabs of outcome.tabs) defineTabs(tabs);
  });
}
