// Runs `demo/cli.mjs` (the `npm run demo` script) as a user would, ten times faster, and checks
// what it prints. The demo imports dist/: `npm test` builds before vitest runs.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runDemo(env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["demo/cli.mjs"],
      { cwd: root, env: { ...process.env, DEMO_SPEED: "10", ...env }, timeout: 20_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : null) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** The event name of each event line (`+2.0s  expiringSoon  user123  1.0s left`). */
function events(stdout: string): string[] {
  return stdout
    .split("\n")
    .map((line) => /^\s*\+\d+\.\d+s\s+(\w+)/.exec(line)?.[1])
    .filter((name): name is string => name !== undefined);
}

describe("demo/cli.mjs", () => {
  beforeAll(() => {
    if (!existsSync(`${root}dist/index.js`)) {
      throw new Error("dist/index.js is missing: run `npm run build` first (npm test does)");
    }
  });

  it("adds, warns, touches, warns again and expires a session, then exits 0", async () => {
    const { code, stdout, stderr } = await runDemo();
    expect(stderr).toBe("");
    expect(code).toBe(0);
    expect(stdout.split("\n")[0]).toMatch(/^sessionmanager demo: .*\(10x speed\)$/);

    const seen = events(stdout);
    const story = ["added", "expiringSoon", "touched", "expiringSoon", "expired"];
    // Each in this order (other events, such as `updated`, may come between).
    let from = 0;
    for (const [step, name] of story.entries()) {
      const at = seen.indexOf(name, from);
      expect(at, `step ${step + 1} (${name}) missing or out of order in:\n${stdout}`).not.toBe(-1);
      from = at + 1;
    }
    expect(seen.filter((name) => name === "expiringSoon")).toHaveLength(2);
    expect(seen.filter((name) => name === "expired")).toHaveLength(1);
    expect(seen).not.toContain("error");
    expect(stdout).toMatch(/expiringSoon\s+user123\s+\d\.\ds left/);
  });

  it("never prints session data, and its debug log shows ids shortened", async () => {
    const { code, stdout, stderr } = await runDemo({ DEMO_DEBUG: "1" });
    expect(code).toBe(0);
    const output = stdout + stderr;
    const debugLines = output.split("\n").filter((line) => line.startsWith("sessionmanager:"));
    expect(debugLines.length).toBeGreaterThan(0);
    for (const line of debugLines) expect(line).not.toContain("user123");
    // The data the demo stores: none of it may appear anywhere in its output.
    for (const secret of ["Ada", "ada@example.com", "dark"]) expect(output).not.toContain(secret);
  });
});
