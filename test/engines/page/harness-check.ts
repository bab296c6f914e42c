// The in-page harness (vitest.ts) checked in each engine: a test title says how it must end
// ("fails:", "skipped:", else it passes), and engines.ts compares what the page reports with that.
// Without this, a harness that reported every test as passed would pass every engine.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const order: string[] = [];

beforeEach(() => {
  order.push("beforeEach");
});
afterEach(() => {
  order.push("afterEach");
  vi.restoreAllMocks();
});

describe("harness check", () => {
  it("passes: a matcher that holds", () => {
    expect({ a: [1, { b: 2 }] }).toEqual({ a: [1, { b: 2 }] });
  });
  it("fails: a matcher that does not hold", () => {
    expect({ a: 1 }).toEqual({ a: 2 });
  });
  it("fails: a promise that resolves where a rejection is expected", async () => {
    await expect(Promise.resolve(1)).rejects.toThrow();
  });
  it("fails: expect.unreachable", () => {
    expect.unreachable("here");
  });
  it("fails: a test that outlives its timeout", () => sleep(500), 100);
  it("passes: hooks ran around the tests before this one", () => {
    // Five tests ran before this one, each between a beforeEach and an afterEach.
    expect(order).toEqual([...Array(5).fill(["beforeEach", "afterEach"]).flat(), "beforeEach"]);
  });
  it("passes: vi.spyOn records calls, restoreAllMocks puts the original back", () => {
    const target = { twice: (n: number) => n * 2 };
    const spy = vi.spyOn(target, "twice").mockReturnValue(0);
    expect(target.twice(2)).toBe(0);
    expect(spy).toHaveBeenCalledWith(2);
    vi.restoreAllMocks();
    expect(target.twice(2)).toBe(4);
  });
  it.skip("skipped: it.skip", () => {
    throw new Error("ran");
  });
  describe.skipIf(true)("skipped suite", () => {
    it("skipped: a test of a skipped suite", () => {
      throw new Error("ran");
    });
  });
});
