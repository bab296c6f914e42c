import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { poll } from "../../src/sync/poll.ts";

describe("poll", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("calls back every interval until stopped", () => {
    const fn = vi.fn();
    const stop = poll(fn, 1000);
    vi.advanceTimersByTime(3500);
    expect(fn).toHaveBeenCalledTimes(3);
    stop();
    vi.advanceTimersByTime(5000);
    expect(fn).toHaveBeenCalledTimes(3);
  });

  it("waits the longest delay a timer takes for a longer interval, rather than firing at once", () => {
    const fn = vi.fn();
    const stop = poll(fn, 30 * 86_400_000); // 30 days: above 2^31-1 ms
    vi.advanceTimersByTime(60_000);
    expect(fn).not.toHaveBeenCalled();
    vi.advanceTimersByTime(2 ** 31 - 1 - 60_000);
    expect(fn).toHaveBeenCalledTimes(1);
    stop();
  });
});
