import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";

describe("in a Node process", () => {
  // Runs the built package (npm test builds first) in a child process of its own.
  it("never keeps a Node process alive", async () => {
    const script = `
      import { SessionManager } from ${JSON.stringify(new URL("../dist/index.js", import.meta.url).href)};
      const sm = new SessionManager({ warnBefore: "1m" });
      await sm.add("a", { ttl: "1h" });
      console.log("added", await sm.has("a"));
    `;
    const result = spawnSync(process.execPath, ["--input-type=module", "-e", script], {
      encoding: "utf8",
      timeout: 20_000,
    });
    expect(result.stderr).toBe("");
    expect(result.stdout.trim()).toBe("added true");
    expect(result.status).toBe(0); // exited by itself, not killed by the timeout
  }, 30_000);
});
