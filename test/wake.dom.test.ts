// Browsers throttle and freeze timers (background tabs, bfcache, a sleeping laptop): when the page
// is back, the manager re-reads the clock at once instead of waiting for a late timer.
import { describe, expect, it, vi } from "vitest";
import { SessionManager } from "../src/index.ts";
import { T0, useFakeClock } from "./helpers/clock.ts";

useFakeClock();

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

function watched() {
  const sm = new SessionManager({ warnBefore: "1m" });
  const log: string[] = [];
  sm.onExpiringSoon((s, msLeft) => log.push(`warn ${s.id} ${msLeft}`));
  sm.onExpired((s) => log.push(`expired ${s.id}`));
  return { sm, log };
}

describe("waking up", () => {
  it.each([
    ["visibilitychange", () => document.dispatchEvent(new Event("visibilitychange"))],
    ["pageshow", () => window.dispatchEvent(new Event("pageshow"))],
    ["focus", () => window.dispatchEvent(new Event("focus"))],
    ["online", () => window.dispatchEvent(new Event("online"))],
  ])("on %s, fires what came due while timers were frozen, in order", async (_name, wake) => {
    const { sm, log } = watched();
    await sm.add("a", { ttl: "10m" });
    await sm.add("b", { ttl: "1h" });
    vi.setSystemTime(T0 + 20 * 60_000); // the laptop slept 20 minutes; no timer ran
    expect(log).toEqual([]);
    wake();
    await flush();
    expect(log).toEqual(["warn a 0", "expired a"]);
    expect(await sm.has("b")).toBe(true);
    await sm.close();
  });

  it("does nothing after close", async () => {
    const { sm, log } = watched();
    await sm.add("a", { ttl: "10m" });
    await sm.close();
    vi.setSystemTime(T0 + 20 * 60_000);
    window.dispatchEvent(new Event("focus"));
    await flush();
    expect(log).toEqual([]);
  });
});
