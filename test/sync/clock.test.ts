import { describe, expect, it } from "vitest";
import { ServerClock } from "../../src/sync/clock.ts";

describe("ServerClock", () => {
  it("starts at no offset and converts both ways", () => {
    const clock = new ServerClock();
    expect(clock.offset).toBe(0);
    clock.sample(1000, 1010, 301_005); // the server is 5 minutes ahead
    expect(clock.offset).toBe(300_000);
    expect(clock.toLocal(360_000)).toBe(60_000);
    expect(clock.toServer(60_000)).toBe(360_000);
  });

  it("keeps its estimate while samples agree with it, so round trips convert exactly", () => {
    const clock = new ServerClock();
    clock.sample(1000, 1010, 6005); // offset 5000 ± 5
    clock.sample(2000, 2040, 7030); // offset within [4960, 5030]: agrees
    expect(clock.offset).toBe(5000);
  });

  it("prefers a sample with a shorter round trip", () => {
    const clock = new ServerClock();
    clock.sample(1000, 1400, 6200); // 5000 ± 200
    clock.sample(2000, 2002, 7151); // 5150 ± 1: tighter, and it moves the estimate
    expect(clock.offset).toBe(5150);
    clock.sample(3000, 3300, 8000); // 4850 ± 150: agrees with 5150? no: [4700, 5001]
    expect(clock.offset).toBe(4850);
  });

  it("follows a clock that jumped, even from a slow sample", () => {
    const clock = new ServerClock();
    clock.sample(1000, 1001, 1000);
    expect(clock.offset).toBe(0);
    clock.sample(5000, 5500, 5250 - 300_000); // 5 minutes behind now
    expect(clock.offset).toBe(-300_000);
  });

  it("ignores samples without a time or that run backwards", () => {
    const clock = new ServerClock();
    clock.sample(1000, 1010, Number.NaN);
    clock.sample(1010, 1000, 5000);
    expect(clock.offset).toBe(0);
    expect(clock.rtt).toBe(Number.POSITIVE_INFINITY);
  });
});
