// Next.js 16.5 (the newest on Node 20): a route handler that adds and reads a SQLite session,
// and cookie sessions (sign in through the route wrapper, read and sign out through cookies(); a
// proxy that lets only members through), built with Turbopack and with webpack and run with
// `next start`; the standalone output run from a copy outside the workspace; and a client page
// on IndexedDB whose static output holds no Node code.
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, inject, test } from "vitest";
import { expectCookieSessions, expectProxySessions } from "./cookie-sessions.ts";
import {
  expectNoNodeModulesAbove,
  expectSessionRoute,
  filesUnder,
  holdsIndexedDBStore,
  nodeCodeIn,
  once,
  type Server,
  startServer,
} from "./helpers.ts";
import { run } from "./workspace.ts";

const workspace = inject("workspace");
const app = join(workspace, "apps", "next");
const next = join(workspace, "node_modules", "next", "dist", "bin", "next");
const scratch = mkdtempSync(join(tmpdir(), "sm-next-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const env = { NEXT_TELEMETRY_DISABLED: "1" };

function build(args: string[], extraEnv: NodeJS.ProcessEnv = {}): void {
  rmSync(join(app, ".next"), { recursive: true, force: true });
  const started = Date.now();
  run("node", [next, "build", ...args], app, { ...env, ...extraEnv });
  console.log(
    `[consumers] next build ${args.join(" ")} in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
}

/** The client page's JavaScript: it holds the IndexedDB store, and nothing of Node. */
function expectBrowserOnlyStatic(): void {
  const files = filesUnder(join(app, ".next", "static"), [".js"]);
  // The page did bundle the store, so finding no Node code means something.
  expect(files.some(holdsIndexedDBStore), "a static chunk holding the IndexedDB store").toBe(true);
  expect(nodeCodeIn(files)).toEqual([]);
}

describe.each([
  ["Turbopack", []],
  ["webpack", ["--webpack"]],
])("Next.js 16.5 built with %s, run with next start", (bundler, args) => {
  let server: Server | undefined;
  const built = once(() => build(args));
  afterAll(() => server?.stop());

  test("the route handler adds and reads a SQLite session over HTTP", async () => {
    built();
    const dbPath = join(scratch, `${bundler}.db`);
    server = await startServer("node", [next, "start", "-H", "127.0.0.1"], app, {
      ...env,
      SM_DB_PATH: dbPath,
    });
    await expectSessionRoute(server, "/api/session", "next", dbPath);
  });

  test("cookie sessions: a route handler and cookies(), and the proxy (middleware)", async () => {
    expect(server, "the server the test above started").toBeDefined();
    await expectCookieSessions(server as Server, "/api/account", "next");
    await expectProxySessions(server as Server);
  });

  test("the client page's static output holds the IndexedDB store and no Node code", () => {
    built();
    expectBrowserOnlyStatic();
  });
});

describe('Next.js 16.5 output: "standalone", run from a copy outside the workspace', () => {
  let server: Server | undefined;
  const copy = join(scratch, "deployed");
  const built = once(() => {
    build([], { SM_NEXT_OUTPUT: "standalone" });
    // As Next's docs deploy it: the standalone folder, with the static files beside the server.
    cpSync(join(app, ".next", "standalone"), copy, { recursive: true, verbatimSymlinks: true });
    cpSync(join(app, ".next", "static"), join(copy, "apps", "next", ".next", "static"), {
      recursive: true,
    });
  });
  afterAll(() => server?.stop());

  test("node server.js adds and reads a SQLite session over HTTP (the driver was traced)", async () => {
    built();
    expectNoNodeModulesAbove(copy);
    const dbPath = join(scratch, "standalone.db");
    server = await startServer("node", ["server.js"], join(copy, "apps", "next"), {
      ...env,
      SM_DB_PATH: dbPath,
    });
    await expectSessionRoute(server, "/api/session", "next", dbPath);
    await expectCookieSessions(server, "/api/account", "next");
    await expectProxySessions(server);
  });
});
