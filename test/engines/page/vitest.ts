// What "vitest" resolves to in the pages of the Firefox and WebKit runs (test/engines/): the same
// test files as the Chromium project, bundled by esbuild with this module in vitest's place.
// vitest's own browser mode cannot drive these engines here (it would need geckodriver and a
// WebKit it knows), so this runs the collected tests in order and leaves the outcome on
// `window.__engineRun` for the Node side to read. `expect` and `vi` are vitest's own packages
// (@vitest/expect on chai, @vitest/spy), so matchers and spies behave as they do in vitest.
import {
  ASYMMETRIC_MATCHERS_OBJECT,
  ChaiStyleAssertions,
  chai,
  customMatchers,
  GLOBAL_EXPECT,
  getState,
  JestAsymmetricMatchers,
  JestChaiExpect,
  JestExtend,
  setState,
} from "@vitest/expect";
import { clearAllMocks, fn, resetAllMocks, restoreAllMocks, spyOn } from "@vitest/spy";

export type Hook = () => unknown;
type Body = () => unknown;

interface Test {
  kind: "test";
  name: string;
  body: Body;
  timeout: number;
  skip: boolean;
}

interface Suite {
  kind: "suite";
  name: string;
  parent: Suite | undefined;
  children: (Suite | Test)[];
  skip: boolean;
  beforeAll: Hook[];
  afterAll: Hook[];
  beforeEach: Hook[];
  afterEach: Hook[];
}

/** One test's outcome, as the Node side reports it. */
export interface EngineResult {
  /** Suite names from the outside in, then the test's name. */
  path: string[];
  state: "pass" | "fail" | "skip";
  error?: string;
  ms: number;
}

export interface EngineRun {
  done: boolean;
  results: EngineResult[];
}

/** vitest's default is 5 s; a slower engine on a busy CI machine gets more. */
const DEFAULT_TIMEOUT = 30_000;

function suite(name: string, parent?: Suite, skip = false): Suite {
  return {
    kind: "suite",
    name,
    parent,
    children: [],
    skip,
    beforeAll: [],
    afterAll: [],
    beforeEach: [],
    afterEach: [],
  };
}

const root = suite("");
let current = root;

// --- collection: the API the test files call -----------------------------------------------------

function collectSuite(name: string, body: () => void, skip: boolean): void {
  const child = suite(name, current, skip || current.skip);
  current.children.push(child);
  current = child;
  try {
    body();
  } finally {
    current = child.parent ?? root;
  }
}

export const describe = Object.assign(
  (name: string, body: () => void) => collectSuite(name, body, false),
  {
    skip: (name: string, body: () => void) => collectSuite(name, body, true),
    skipIf: (condition: unknown) => (name: string, body: () => void) =>
      collectSuite(name, body, Boolean(condition)),
  },
);

function collectTest(name: string, body: Body, timeout: number | undefined, skip: boolean): void {
  current.children.push({
    kind: "test",
    name,
    body,
    timeout: timeout ?? DEFAULT_TIMEOUT,
    skip: skip || current.skip,
  });
}

export const it = Object.assign(
  (name: string, body: Body, timeout?: number) => collectTest(name, body, timeout, false),
  {
    skip: (name: string, body: Body, timeout?: number) => collectTest(name, body, timeout, true),
    skipIf: (condition: unknown) => (name: string, body: Body, timeout?: number) =>
      collectTest(name, body, timeout, Boolean(condition)),
  },
);
export const test = it;

export const beforeAll = (hook: Hook) => void current.beforeAll.push(hook);
export const afterAll = (hook: Hook) => void current.afterAll.push(hook);
export const beforeEach = (hook: Hook) => void current.beforeEach.push(hook);
export const afterEach = (hook: Hook) => void current.afterEach.push(hook);

// --- expect and vi: vitest's packages, set up as vitest sets them up -----------------------------

chai.use(JestExtend);
chai.use(JestChaiExpect);
chai.use(ChaiStyleAssertions);
chai.use(JestAsymmetricMatchers);

type Expect = typeof import("vitest").expect;
const globals = globalThis as Record<string | symbol, unknown>;

function createExpect(): Expect {
  const expect = ((value: unknown, message?: string) => {
    const { assertionCalls } = getState(expect);
    setState({ assertionCalls: assertionCalls + 1 }, expect);
    return chai.expect(value, message);
  }) as unknown as Expect;
  Object.assign(expect, chai.expect);
  Object.assign(expect, globals[ASYMMETRIC_MATCHERS_OBJECT]);
  setState({ assertionCalls: 0, isExpectingAssertions: false }, expect);
  expect.unreachable = (message?: string): never => {
    chai.assert.fail(`expected${message ? ` "${message}" ` : " "}not to be reached`);
    throw new Error("unreachable");
  };
  // @vitest/expect's JestExtend adds extend(expect, matchers) to chai.expect.
  const chaiExpect = chai.expect as unknown as { extend(to: Expect, matchers: unknown): void };
  expect.extend = (matchers) => chaiExpect.extend(expect, matchers);
  expect.extend(customMatchers);
  return expect;
}

export const expect = createExpect();
globals[GLOBAL_EXPECT] = expect;

export const vi = { fn, spyOn, restoreAllMocks, clearAllMocks, resetAllMocks };

// --- running -------------------------------------------------------------------------------------

function message(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}\n${error.stack ?? ""}`;
  return String(error);
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out in ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** The suites from the outside in. */
function lineage(of: Suite): Suite[] {
  const chain: Suite[] = [];
  for (let s: Suite | undefined = of; s; s = s.parent) chain.unshift(s);
  return chain;
}

function names(of: Suite): string[] {
  return lineage(of)
    .map((s) => s.name)
    .filter(Boolean);
}

async function runTest(t: Test, parent: Suite, results: EngineResult[]): Promise<void> {
  const path = [...names(parent), t.name];
  if (t.skip) {
    results.push({ path, state: "skip", ms: 0 });
    return;
  }
  const chain = lineage(parent);
  const errors: unknown[] = [];
  const started = performance.now();
  // Like vitest: a beforeEach may return its own cleanup, run after the afterEach hooks.
  const cleanups: Hook[] = [];
  try {
    for (const s of chain) {
      for (const hook of s.beforeEach) {
        const cleanup = await within(Promise.resolve(hook()), t.timeout, "beforeEach");
        if (typeof cleanup === "function") cleanups.unshift(cleanup as Hook);
      }
    }
    await within(Promise.resolve().then(t.body), t.timeout, `"${t.name}"`);
  } catch (error) {
    errors.push(error);
  }
  for (const s of [...chain].reverse()) {
    for (const hook of [...s.afterEach].reverse()) {
      await within(Promise.resolve().then(hook), t.timeout, "afterEach").catch((e) =>
        errors.push(e),
      );
    }
  }
  for (const cleanup of cleanups)
    await Promise.resolve()
      .then(cleanup)
      .catch((e) => errors.push(e));
  const ms = Math.round(performance.now() - started);
  if (errors.length === 0) results.push({ path, state: "pass", ms });
  else results.push({ path, state: "fail", error: errors.map(message).join("\n---\n"), ms });
}

/** Every test under `s`, marked failed with `error` (a beforeAll that threw). */
function failAll(s: Suite, error: unknown, results: EngineResult[]): void {
  for (const child of s.children) {
    if (child.kind === "suite") failAll(child, error, results);
    else
      results.push({
        path: [...names(s), child.name],
        state: "fail",
        error: message(error),
        ms: 0,
      });
  }
}

async function runSuite(s: Suite, results: EngineResult[]): Promise<void> {
  try {
    if (!s.skip)
      for (const hook of s.beforeAll)
        await within(Promise.resolve().then(hook), DEFAULT_TIMEOUT, "beforeAll");
  } catch (error) {
    failAll(s, error, results);
    return;
  }
  for (const child of s.children) {
    if (child.kind === "suite") await runSuite(child, results);
    else await runTest(child, s, results);
  }
  if (s.skip) return;
  for (const hook of s.afterAll) {
    await Promise.resolve()
      .then(hook)
      .catch((error) =>
        results.push({
          path: [...names(s), "(afterAll)"],
          state: "fail",
          error: message(error),
          ms: 0,
        }),
      );
  }
}

/** Runs what the imported test files collected; the outcome goes to `window.__engineRun`. */
export async function runCollected(): Promise<void> {
  const run: EngineRun = { done: false, results: [] };
  globals.__engineRun = run;
  try {
    await runSuite(root, run.results);
  } catch (error) {
    run.results.push({ path: ["(harness)"], state: "fail", error: message(error), ms: 0 });
  }
  run.done = true;
}
