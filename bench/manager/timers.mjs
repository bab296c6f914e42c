// Section 3: live timers held by a SessionManager with N live sessions (target: exactly 1).

import { table } from "../lib/table.mjs";
import { fmtInt, gc, makeKeys } from "../lib/util.mjs";
import { IMPLS } from "./impls.mjs";
import {
  activeResourcesShowsUnref,
  countActiveResourceTimeouts,
  createTimerTracker,
} from "./timers-probe.mjs";

export const TIMER_SIZES = [100_000, 1_000_000];
const sm = IMPLS.find((impl) => impl.name === "sessionmanager (memory)");

async function countFor(n) {
  const keys = makeKeys(n);
  gc();
  const tracker = createTimerTracker();
  tracker.enable();
  try {
    const before = await tracker.count();
    const manager = await sm.create();
    await sm.fill(manager, keys);
    const live = (await tracker.count()) - before;
    const activeResources = countActiveResourceTimeouts();
    await sm.close(manager);
    const afterClose = (await tracker.count()) - before;
    return { n, liveTimers: live, activeResourcesTimeouts: activeResources, afterClose };
  } finally {
    tracker.disable();
  }
}

export async function runTimers(sizes = TIMER_SIZES) {
  const unrefShown = activeResourcesShowsUnref();
  const rows = [];
  for (const n of sizes) rows.push(await countFor(n));
  console.log(
    table(
      "3. Timers held by sessionmanager (memory backend, ttl 30m)",
      [
        "live sessions",
        "live timers (async_hooks)",
        "'Timeout' in getActiveResourcesInfo",
        "after close()",
      ],
      rows.map((r) => [fmtInt(r.n), r.liveTimers, r.activeResourcesTimeouts, r.afterClose]),
      [
        `getActiveResourcesInfo() lists unref'd timers on ${process.version}: ${unrefShown ? "yes" : "no"}` +
          " (checked with a probe timer), so live timers are counted with an async_hooks hook:",
        "a Timeout is live from init to destroy; the hook is enabled before the manager is created.",
        "target: exactly 1 live timer.",
      ],
    ),
  );
  return { activeResourcesShowsUnref: unrefShown, rows };
}
