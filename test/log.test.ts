import { describe, expect, it, vi } from "vitest";
import { createSessionId, SessionManager } from "../src/index.ts";

function spyLogger() {
  return { debug: vi.fn(), info: vi.fn(), warn: vi.fn(), error: vi.fn() };
}

describe("logging", () => {
  it("writes one debug line per operation, with ids shortened and never data", async () => {
    const logger = spyLogger();
    const sm = new SessionManager({ logger, logLevel: "debug", warnBefore: 0 });
    const id = "user-1234567890";
    const secret = "SECRET-DATA-42";
    await sm.add(id, { data: { secret } });
    await sm.get(id);
    await sm.touch(id);
    await sm.update(id, { secret: `${secret}!` });
    await sm.list();
    await sm.remove(id);
    await sm.purgeExpired();
    await sm.clear();
    const lines = logger.debug.mock.calls.map((call) => call.join(" "));
    expect(lines).toHaveLength(8);
    expect(lines.map((l) => l.split(" ")[1])).toEqual([
      "add",
      "get",
      "touch",
      "update",
      "list",
      "remove",
      "purgeExpired",
      "clear",
    ]);
    for (const line of lines) {
      expect(line).toMatch(/^sessionmanager: /);
      expect(line).not.toContain(secret);
      expect(line).not.toContain(id);
    }
    expect(lines[0]).toContain("user…");
    await sm.close();
  });

  it("is silent below the chosen level and without a logger", async () => {
    const logger = spyLogger();
    const sm = new SessionManager({ logger });
    await sm.add("a");
    expect(logger.debug).not.toHaveBeenCalled();
    const quiet = new SessionManager({ logger, logLevel: "silent" });
    quiet.on("added", () => {
      throw new Error("bug");
    });
    await quiet.add("a");
    expect(logger.error).not.toHaveBeenCalled();
    await new SessionManager().add("a"); // no logger at all: nothing to call, nothing thrown
  });

  it("reports a listener error to the logger when nobody listens on error", async () => {
    const logger = spyLogger();
    const sm = new SessionManager({ logger });
    sm.on("added", () => {
      throw new Error("listener bug");
    });
    await sm.add("a");
    expect(logger.error).toHaveBeenCalledWith(
      "sessionmanager: a added listener failed: listener bug",
    );
  });
});

describe("createSessionId", () => {
  it("makes 128-bit base64url ids that do not repeat", () => {
    const ids = new Set(Array.from({ length: 1000 }, () => createSessionId()));
    expect(ids.size).toBe(1000);
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });
});
