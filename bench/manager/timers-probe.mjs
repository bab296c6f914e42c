// Counting live timers. process.getActiveResourcesInfo() lists only ref'd timers on Node 20,
// so unref'd ones are counted with an async_hooks hook: a "Timeout" resource is live from its
// init until its destroy (fired without refresh, or cleared); refresh() re-inits a fired timer.
import { createHook } from "node:async_hooks";
import { settle } from "../lib/util.mjs";

/** Does getActiveResourcesInfo() show an unref'd timer on this Node? Checked, not assumed. */
export function activeResourcesShowsUnref() {
  const probe = setTimeout(() => {}, 60_000);
  probe.unref();
  const shown = countActiveResourceTimeouts() > 0;
  clearTimeout(probe);
  return shown;
}

export function countActiveResourceTimeouts() {
  return process.getActiveResourcesInfo().filter((name) => name === "Timeout").length;
}

/** Tracks every Timeout created while enabled; `count()` settles the loop first. */
export function createTimerTracker() {
  const live = new Set();
  const hook = createHook({
    init(id, type) {
      if (type === "Timeout") live.add(id);
    },
    destroy(id) {
      live.delete(id);
    },
  });
  return {
    enable: () => hook.enable(),
    disable: () => hook.disable(),
    async count() {
      await settle(); // destroy callbacks are delivered asynchronously
      return live.size;
    },
  };
}
