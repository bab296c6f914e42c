import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";

describe("in a Node process", () => {
  // Runs the built package (npm test builds first) in a child process of its own.
  it("never keeps a Node process alive", async () => {
    const script = `
      import { SessionManager } from ${JSON.stringify(new URL("../../dist/index.js", import.meta.url).href)};
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

  it("importing touches no global: timers, clock, crypto and DOM are used only by a manager", () => {
    const script = `
      for (const name of ["setTimeout", "clearTimeout", "performance", "crypto", "queueMicrotask", "document", "window"]) {
        Object.defineProperty(globalThis, name, { get() { throw new Error("touched " + name) }, configurable: true });
      }
      const lib = await import(${JSON.stringify(new URL("../../dist/index.js", import.meta.url).href)});
      await import(${JSON.stringify(new URL("../../dist/stores/memory.js", import.meta.url).href)});
      console.log(Object.keys(lib).length > 0 ? "imported" : "empty");
    `;
    const result = spawnSync(process.execPath, ["--input-type=module", "-e", script], {
      encoding: "utf8",
      timeout: 20_000,
    });
    expect(result.stderr).toBe("");
    expect(result.stdout.trim()).toBe("imported");
  });
});
