// Nuxt 4.4 (the newest on Node 20): a server route that adds and reads a SQLite session, and cookie
// sessions (a server middleware and a route), built by default (the package traced into .output)
// and with the package inlined into the server bundle; each .output run in place and from a copy
// moved out of the project.
import { cpSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, inject, test } from "vitest";
import { expectCookieSessions } from "./cookie-sessions.ts";
import {
  expectNoNodeModulesAbove,
  expectSessionRoute,
  once,
  type Server,
  startServer,
} from "./helpers.ts";
import { run } from "./workspace.ts";

const workspace = inject("workspace");
const app = join(workspace, "apps", "nuxt");
const nuxt = join(workspace, "node_modules", "nuxt", "bin", "nuxt.mjs");
const scratch = mkdtempSync(join(tmpdir(), "sm-nuxt-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const env = { NUXT_TELEMETRY_DISABLED: "1", CI: "1" };

let server: Server | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

describe.each([
  ["by default", "default", {}],
  ["with the package inlined (nitro.externals.inline)", "inline", { SM_INLINE: "1" }],
])("Nuxt 4.4 built %s", (_how, variant, buildEnv) => {
  const moved = join(scratch, variant);
  const built = once(() => {
    rmSync(join(app, ".output"), { recursive: true, force: true });
    const started = Date.now();
    run("node", [nuxt, "build"], app, { ...env, ...buildEnv });
    console.log(
      `[consumers] nuxt build (${variant}) in ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
    cpSync(join(app, ".output"), join(moved, ".output"), {
      recursive: true,
      verbatimSymlinks: true,
    });
  });

  if (variant === "inline") {
    test("the package is bundled, not copied beside the server", () => {
      built();
      const traced = join(app, ".output", "server", "node_modules", "sessionmanager-js");
      expect(existsSync(traced), traced).toBe(false);
    });
  }

  test("node .output/server/index.mjs in the project: a SQLite session, and cookie sessions", async () => {
    built();
    const dbPath = join(scratch, `${variant}-in-place.db`);
    server = await startServer("node", [".output/server/index.mjs"], app, { SM_DB_PATH: dbPath });
    await expectSessionRoute(server, "/api/session", "nuxt", dbPath);
    await expectCookieSessions(server, "/api/account", "nuxt");
  });

  test(".output moved out of the project adds and reads a SQLite session (the driver was traced)", async () => {
    built();
    expectNoNodeModulesAbove(moved);
    const dbPath = join(scratch, `${variant}-moved.db`);
    server = await startServer("node", [".output/server/index.mjs"], moved, { SM_DB_PATH: dbPath });
    await expectSessionRoute(server, "/api/session", "nuxt", dbPath);
  });
});
