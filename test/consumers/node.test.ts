// Node users, ESM and CommonJS: the SQLite backend by name from the installed tarball, and the
// expiry warning firing.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, inject, test } from "vitest";
import { run } from "./workspace.ts";

const workspace = inject("workspace");
const scratch = mkdtempSync(join(tmpdir(), "sm-node-consumer-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe.each([
  ["ESM", "node-esm", "index.mjs", "esm"],
  ["CommonJS", "node-cjs", "index.cjs", "cjs"],
])("Node %s", (_kind, app, script, via) => {
  test(`backend "sqlite" by name: add, get, and onExpiringSoon fires (${app})`, () => {
    const dbPath = join(scratch, `${app}.db`);
    const output = run("node", [script, dbPath], join(workspace, "apps", app));
    const result = JSON.parse(output.trim().split("\n").pop() ?? "null");
    expect(result).toMatchObject({
      added: `user-${via}`,
      read: { via },
      status: "ready",
      warning: { id: `user-${via}` },
      errors: [],
    });
    // Warned about 300 ms before a 600 ms ttl ran out: what is left is at most the warnBefore.
    expect(result.warning.msLeft).toBeGreaterThan(0);
    expect(result.warning.msLeft).toBeLessThanOrEqual(300);
  });
});
