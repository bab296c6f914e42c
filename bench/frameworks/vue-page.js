// Runs in the Chromium page (bundled by renders.mjs with esbuild, Vue's runtime in its production
// build, render functions so that no template compiler is needed): the Vue counterpart of
// react-page.js, the same 100 components and the same loop.

import { SessionManager } from "sessionmanager-dist/core.js";
import { memoryStore } from "sessionmanager-dist/stores/memory.js";
import { useSession } from "sessionmanager-dist/vue.js";
import { createApp, defineComponent, h, onMounted, onUnmounted, onUpdated, shallowRef } from "vue";
import { countListeners, ids, reporter, runTouches } from "./page-common.js";

let sm;
let report;
const renders = new Array(ids.length).fill(0);

/** The row every variant renders: counts the render, reports each commit. */
function row(props, session) {
  const sent = () => report(props.id, session.value?.version);
  onMounted(sent);
  onUpdated(sent);
  return () => {
    renders[props.index]++;
    const s = session.value;
    return h("li", null, `${props.id} ${s ? s.expiresAt : "-"}`);
  };
}

const props = { id: String, index: Number };

/** `useSession(manager, id)`: the binding. */
const Bound = defineComponent({ props, setup: (p) => row(p, useSession(sm, p.id)) });

/** Hand-wired, careful: a ref per component, the five events filtered by id, an initial `get`. */
const HandFiltered = defineComponent({
  props,
  setup(p) {
    const session = shallowRef(undefined);
    let live = true;
    sm.get(p.id).then((s) => {
      if (live) session.value = s;
    });
    const mine = (fn) => (s) => s.id === p.id && fn(s);
    const set = (s) => {
      session.value = s;
    };
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
    onUnmounted(() => {
      live = false;
      for (const off of offs) off();
    });
    return row(p, session);
  },
});

/** Hand-wired, plain: every change event makes each component read its session again. */
const HandReload = defineComponent({
  props,
  setup(p) {
    const session = shallowRef(undefined);
    let live = true;
    const reload = () =>
      sm.get(p.id).then((s) => {
        if (live) session.value = s;
      });
    reload();
    const offs = ["added", "touched", "updated", "removed", "expired"].map((e) => sm.on(e, reload));
    onUnmounted(() => {
      live = false;
      for (const off of offs) off();
    });
    return row(p, session);
  },
});

const modes = {
  useSession: Bound,
  "hand-wired, filtered": HandFiltered,
  "hand-wired, reload": HandReload,
};

window.bench = async (mode, touches) => {
  sm = new SessionManager({ backend: memoryStore(), namespace: `vue-${mode}` });
  await sm.ready;
  for (const id of ids) await sm.add(id, { ttl: "30m" });
  const listeners = countListeners(sm);
  report = reporter();
  renders.fill(0);
  const host = document.createElement("ul");
  document.body.append(host);
  const Component = modes[mode];
  const app = createApp({
    render: () => ids.map((id, index) => h(Component, { key: id, id, index })),
  });
  app.mount(host);
  await report.allLoaded();
  const active = listeners.active();
  const result = await runTouches({ sm, touches, renders, report, components: true });
  app.unmount();
  host.remove();
  result.listeners = active;
  await sm.close();
  return result;
};
