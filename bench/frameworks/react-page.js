// Runs in the Chromium page (bundled by renders.mjs with esbuild, React in its production build):
// 100 components, each showing one session of a memory-store manager, wired one of three ways;
// `window.bench(mode, touches)` touches one session at a time and reports renders and timings.
import { createElement as h, useEffect, useLayoutEffect, useState } from "react";
import { flushSync } from "react-dom";
import { createRoot } from "react-dom/client";
import { SessionManager } from "sessionmanager-dist/core.js";
import { useSession } from "sessionmanager-dist/react.js";
import { memoryStore } from "sessionmanager-dist/stores/memory.js";
import { countListeners, ids, reporter, runTouches } from "./page-common.js";

let sm;
let report;

/** `useSession(manager, id)`: the binding. */
function Bound({ id, index }) {
  const session = useSession(sm, id);
  return Row({ id, index, session });
}

/**
 * Hand-wired, careful: a state per component, the five events filtered by id, an initial `get`.
 * What a React developer writes without the binding when they mind re-renders. With `sync`, each
 * update is made in `flushSync`: a synchronous update, as `useSyncExternalStore` always makes,
 * which React commits at once rather than in a later task.
 */
function HandFiltered({ id, index, sync }) {
  const [session, setSession] = useState(undefined);
  useEffect(() => {
    let live = true;
    sm.get(id).then((s) => live && setSession(s));
    const set = sync ? (s) => flushSync(() => setSession(s)) : setSession;
    const mine = (fn) => (s) => s.id === id && fn(s);
    const offs = [
      sm.on("added", mine(set)),
      sm.on("touched", mine(set)),
      sm.on("updated", mine(set)),
      sm.on(
        "removed",
        mine(() => set(undefined)),
      ),
      sm.on(
        "expired",
        mine(() => set(undefined)),
      ),
    ];
    return () => {
      live = false;
      for (const off of offs) off();
    };
  }, [id, sync]);
  return Row({ id, index, session });
}

/**
 * Hand-wired, plain: every change event makes each component read its session again. The pattern
 * of most examples ("subscribe, then get"), which needs no id in the event.
 */
function HandReload({ id, index }) {
  const [session, setSession] = useState(undefined);
  useEffect(() => {
    let live = true;
    const reload = () => sm.get(id).then((s) => live && setSession(s));
    reload();
    const offs = ["added", "touched", "updated", "removed", "expired"].map((e) => sm.on(e, reload));
    return () => {
      live = false;
      for (const off of offs) off();
    };
  }, [id]);
  return Row({ id, index, session });
}

const renders = new Array(ids.length).fill(0);

/** The row every variant renders; counts the render and reports each commit. */
function Row({ id, index, session }) {
  renders[index]++;
  // A hook in a plain function called from each component's body: React sees it as theirs.
  useLayoutEffect(() => report(id, session?.version));
  return h("li", null, id, " ", session ? session.expiresAt : "-");
}

/** Each mode: the component, and props beside the id. */
const modes = {
  useSession: [Bound, {}],
  "hand-wired, filtered": [HandFiltered, { sync: false }],
  "hand-wired, filtered, flushSync": [HandFiltered, { sync: true }],
  "hand-wired, reload": [HandReload, {}],
};

window.bench = async (mode, touches) => {
  sm = new SessionManager({ backend: memoryStore(), namespace: `react-${mode}` });
  await sm.ready;
  for (const id of ids) await sm.add(id, { ttl: "30m" });
  const listeners = countListeners(sm);
  report = reporter();
  renders.fill(0);
  const host = document.createElement("ul");
  document.body.append(host);
  const root = createRoot(host);
  const [Component, extra] = modes[mode] ?? [];
  if (Component) {
    root.render(ids.map((id, index) => h(Component, { key: id, id, index, ...extra })));
    await report.allLoaded();
  }
  const active = listeners.active();
  const result = await runTouches({ sm, touches, renders, report, components: Boolean(Component) });
  root.unmount();
  host.remove();
  result.listeners = active;
  await sm.close();
  return result;
};
