import { afterEach, beforeEach, vi } from "vitest";

/** The fake "now" every fake-clock test starts at. */
export const T0: number = Date.UTC(2026, 0, 1);

/**
 * Fakes timers and `Date` (starting at `T0`) for every test of the calling file or `describe`.
 * `setImmediate` stays real: the scheduler yields with it between slices of a burst.
 */
export function useFakeClock(): void {
  beforeEach(() => {
    vi.useFakeTimers({
      toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval", "Date"],
    });
    vi.setSystemTime(T0);
  });
  afterEach(() => vi.useRealTimers());
}
