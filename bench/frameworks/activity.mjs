// Part 2: store writes made by a user who is active all the time, with 1, 5 and 10 tabs open. In
// Node: N managers on one shared memory store in one namespace, as N tabs of one origin (Node's
// BroadcastChannel is real, as in test/tabs.test.ts), each tab its own EventTarget for a page.
// A "keydown" every 10 ms, for `seconds`, with a throttle of 200 ms; the writes the store sees
// are counted and given per throttle window, which is writes per minute at the default throttle
// (one minute with the default ttl and warnBefore). Two users: one whose events reach every tab at
// once (the worst case), and one who types in one tab and moves to the next every 3.5 windows.
// Baseline: each tab touching on its own activity with its own throttle, as code built on
// react-idle-timer's onAction does without coordinating tabs.
import { fromDist } from "../lib/dist.mjs";

const { SessionManager } = await fromDist("core.js");
const { memoryStore } = await fromDist("stores/memory.js");

const THROTTLE = 200;
const KEY_EVERY = 10;
/** The user of "one tab at a time" moves to the next tab after this many throttle windows. */
const SWITCH_EVERY = 3.5;
/** The default throttle with the default ttl (30m) and warnBefore (1m): min(1 min, 29m / 2). */
export const DEFAULT_THROTTLE = 60_000;
const ID = "user123";
let sequence = 0;

/** A memory store that says it is shared (as localStorage is) and counts the reads and writes it gets. */
function countingStore() {
  const inner = memoryStore();
  const counts = { writes: 0, written: 0, reads: 0 };
  const store = {
    ...inner,
    name: "shared",
    capabilities: { shared: true },
    get(id) {
      counts.reads++;
      return inner.get(id);
    },
    async set(record, condition) {
      counts.writes++;
      const ok = await inner.set(record, condition);
      if (ok) counts.written++;
      return ok;
    },
  };
  return { store, counts };
}

/** The baseline: a touch on activity, throttled in this tab only (leading edge). */
function localThrottle(sm, id, target, throttle) {
  let last = Number.NEGATIVE_INFINITY;
  const events = ["pointerdown", "pointermove", "keydown", "wheel", "touchstart", "scroll"];
  const on = () => {
    const now = Date.now();
    if (now - last < throttle) return;
    last = now;
    sm.touch(id).catch(() => {});
  };
  for (const event of events) target.addEventListener(event, on, { passive: true });
  return () => {
    for (const event of events) target.removeEventListener(event, on);
  };
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** One run: `tabs` managers, one user, `seconds` of typing; the writes counted. */
async function run({ tabs, tracker, user, seconds }) {
  const { store, counts } = countingStore();
  const namespace = `bench-activity-${++sequence}`;
  const managers = Array.from(
    { length: tabs },
    () => new SessionManager({ backend: store, namespace }),
  );
  await Promise.all(managers.map((sm) => sm.ready));
  await managers[0].add(ID, { ttl: "30m" });
  await sleep(50); // every tab has heard of it
  const targets = managers.map(() => new EventTarget());
  const stops = managers.map((sm, i) =>
    tracker === "trackActivity"
      ? sm.trackActivity(ID, { target: targets[i], throttle: THROTTLE })
      : localThrottle(sm, ID, targets[i], THROTTLE),
  );
  let touched = 0;
  managers[0].on("touched", () => touched++);
  const before = { ...counts };
  const start = Date.now();
  const typing = setInterval(() => {
    const focused = Math.floor((Date.now() - start) / (THROTTLE * SWITCH_EVERY)) % tabs;
    targets.forEach((target, i) => {
      if (user === "every tab" || i === focused) target.dispatchEvent(new Event("keydown"));
    });
  }, KEY_EVERY);
  await sleep(seconds * 1000);
  clearInterval(typing);
  const elapsed = Date.now() - start;
  const writes = counts.writes - before.writes;
  const written = counts.written - before.written;
  const reads = counts.reads - before.reads;
  for (const stop of stops) stop();
  await sleep(THROTTLE);
  await Promise.all(managers.map((sm) => sm.close()));
  const windows = elapsed / THROTTLE;
  return {
    tabs,
    tracker,
    user,
    writes,
    written,
    reads,
    touched,
    windows,
    perWindow: writes / windows,
  };
}

/** Every combination; `trackActivity` missing from the build is reported, not fatal. */
export async function measureActivity({ seconds = 5, tabCounts = [1, 5, 10] } = {}) {
  const rows = [];
  const failures = [];
  const probe = new SessionManager({ backend: memoryStore(), namespace: "bench-activity-probe" });
  const hasTracker = typeof probe.trackActivity === "function";
  await probe.close();
  if (!hasTracker) failures.push({ part: "trackActivity", error: "not in dist/core.js yet" });
  for (const user of ["every tab", "one tab at a time"]) {
    for (const tabs of tabCounts) {
      if (user === "one tab at a time" && tabs === 1) continue;
      for (const tracker of ["trackActivity", "local throttle (baseline)"]) {
        if (tracker === "trackActivity" && !hasTracker) continue;
        rows.push(await run({ tabs, tracker, user, seconds }));
      }
    }
  }
  return {
    rows,
    failures,
    throttle: THROTTLE,
    keyEvery: KEY_EVERY,
    switchEvery: SWITCH_EVERY,
    seconds,
  };
}
