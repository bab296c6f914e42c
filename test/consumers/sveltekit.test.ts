// SvelteKit 2.70 + adapter-node 5.5 + Vite 8: a +server.ts endpoint that adds and reads a SQLite
// session, and cookie sessions (the handle hook and an endpoint), built by default (the package left external) and with ssr.noExternal (bundled); the
// built build/ run with node.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, inject, test } from "vitest";
import { expectCookieSessions } from "./cookie-sessions.ts";
import { expectSessionRoute, filesUnder, once, type Server, startServer } from "./helpers.ts";
import { run } from "./workspace.ts";

const workspace = inject("workspace");
const app = join(workspace, "apps", "sveltekit");
const vite = join(workspace, "node_modules", "vite", "bin", "vite.js");
const scratch = mkdtempSync(join(tmpdir(), "sm-sveltekit-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Whether the built server imports the package by name (left external) rather than bundling it. */
function importsPackage(): boolean {
  return filesUnder(join(app, "build"), [".js"]).some((file) =>
    /from\s*["']sessionmanager-js["']|import\(["']sessionmanager-js["']\)/.test(
      readFileSync(file, "utf8"),
    ),
  );
}

describe.each([
  ["by default", "default", {}, true],
  ['with ssr.noExternal: ["sessionmanager-js"]', "noExternal", { SM_NO_EXTERNAL: "1" }, false],
])("SvelteKit 2.70 (adapter-node) built %s", (_how, variant, buildEnv, external) => {
  let server: Server | undefined;
  const built = once(() => {
    rmSync(join(app, "build"), { recursive: true, force: true });
    const started = Date.now();
    run("node", [vite, "build"], app, buildEnv);
    console.log(
      `[consumers] vite build (SvelteKit, ${variant}) in ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
  });
  afterAll(() => server?.stop());

  test(`the package is ${external ? "left external" : "bundled into the server"}`, () => {
    built();
    expect(importsPackage()).toBe(external);
  });

  test("node build: a SQLite session, and cookie sessions, over HTTP", async () => {
    built();
    const dbPath = join(scratch, `${variant}.db`);
    server = await startServer("node", ["build"], app, { SM_DB_PATH: dbPath });
    await expectSessionRoute(server, "/api/session", "sveltekit", dbPath);
    await expectCookieSessions(server, "/api/account", "sveltekit");
  });
});
