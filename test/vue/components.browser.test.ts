// The Vue composables in a real Chromium page, inside a single-file component compiled by
// @vitejs/plugin-vue as an app's Vite build compiles it: mounted, updated by the manager,
// unmounted, hydrated from server-rendered HTML, and on a real browser store.
import { afterEach, describe, expect, it, vi } from "vitest";
import { type App, createApp, createSSRApp, effectScope, h, nextTick, ref } from "vue";
import { renderToString } from "vue/server-renderer";
import { SessionManager } from "../../src/index.ts";
import { useSession } from "../../src/vue/index.ts";
import { counted } from "./counted.ts";
import SessionCountdown from "./SessionCountdown.vue";

type Data = { name: string } | null;
const managers: SessionManager<Data>[] = [];
const apps: App[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) app.unmount();
  for (const sm of managers.splice(0)) await sm.close();
  document.body.replaceChildren();
});

async function manager(
  options: ConstructorParameters<typeof SessionManager<Data>>[0] = {},
): Promise<SessionManager<Data>> {
  const sm = new SessionManager<Data>({ backend: "memory", warnBefore: 0, ...options });
  managers.push(sm);
  await sm.ready;
  return sm;
}

/** Mounts the countdown on a new element of the page; returns the element's text by class. */
function show(props: Record<string, unknown>, app = createApp(SessionCountdown, props)) {
  const element = document.body.appendChild(document.createElement("div"));
  apps.push(app);
  app.mount(element);
  return { app, element, text: (name: string) => element.querySelector(`.${name}`)?.textContent };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until `done()` holds, for at most `ms` (generous: CI machines are slow). */
async function until(done: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!done()) {
    if (Date.now() > end) throw new Error(`condition not met within ${ms} ms`);
    await sleep(10);
  }
}

describe("a component using the composables", () => {
  it("shows the session and its countdown, and follows touch, update and remove", async () => {
    const sm = await manager();
    await sm.add("a", { data: { name: "Ada" }, ttl: "1h" });
    const { text } = show({ manager: sm, id: "a" });
    await until(() => text("who") === "Ada v1");
    expect(text("left")).toBe("3600 s left");
    expect(text("status")).toBe("ready");

    await sm.touch("a");
    await until(() => text("who") === "Ada v2");
    await sm.update("a", { name: "Grace" });
    await until(() => text("who") === "Grace v3");
    await sm.touch("a", "2h");
    await until(() => text("left") === "7200 s left");
    await sm.remove("a");
    await until(() => text("who") === "nobody");
    expect(text("left")).toBe("no session");
  });

  it("counts down in real time and warns before expiry (useExpiringSoon)", async () => {
    const sm = await manager({ warnBefore: 1_000 });
    await sm.add("a", { data: { name: "Ada" }, ttl: 2_500 });
    const { text } = show({ manager: sm, id: "a" });
    await until(() => text("left") === "3 s left");
    expect(text("warned")).toBeUndefined();
    await until(() => text("left") === "2 s left");
    await until(() => text("warned") === "expiring soon");
    await until(() => text("who") === "nobody");
    expect(text("left")).toBe("no session");
  });

  it("releases the manager's listeners when unmounted", async () => {
    const sm = await manager({ warnBefore: 1_000 });
    await sm.add("a", { data: { name: "Ada" }, ttl: "1h" });
    const { manager: watched, listeners } = counted(sm);
    const { app, text } = show({ manager: watched, id: "a" });
    await until(() => text("who") === "Ada v1");
    expect(listeners()).toBeGreaterThan(0);
    app.unmount();
    apps.splice(apps.indexOf(app), 1);
    expect(listeners()).toBe(0);
  });

  it("follows another session when its id prop changes", async () => {
    const sm = await manager();
    await sm.add("a", { data: { name: "Ada" }, ttl: "1h" });
    await sm.add("b", { data: { name: "Bob" }, ttl: "2h" });
    const { manager: watched, listeners } = counted(sm);
    const id = ref("a");
    const parent = createApp({
      render: () => h(SessionCountdown, { manager: watched, id: id.value }),
    });
    const { text } = show({}, parent);
    await until(() => text("who") === "Ada v1");
    const held = listeners();
    id.value = "b";
    await until(() => text("who") === "Bob v1");
    expect(text("left")).toBe("7200 s left");
    expect(listeners()).toBe(held);
    // a's subscription was let go as b's was taken: a's changes no longer reach the component.
    await sm.update("a", { name: "Ada2" });
    await sleep(50);
    expect(text("who")).toBe("Bob v1");
    await sm.touch("b");
    await until(() => text("who") === "Bob v2");
    id.value = "gone";
    await nextTick();
    await until(() => text("who") === "nobody");
    expect(text("left")).toBe("no session");
  });

  it("hydrates server-rendered HTML without a mismatch, then loads", async () => {
    const sm = await manager();
    await sm.add("a", { data: { name: "Ada" }, ttl: "1h" });
    const html = await renderToString(createSSRApp(SessionCountdown, { manager: sm, id: "a" }));
    expect(html).toContain("nobody");
    expect(html).toContain("loading");

    // Another part of the page already follows the session: its value is known on the client
    // before hydration, and must still not be what the first render shows.
    const scope = effectScope();
    const elsewhere = scope.run(() => useSession(sm, "a"));
    await until(() => elsewhere?.value?.version === 1);

    const warnings: string[] = [];
    const errors = vi.spyOn(console, "error");
    try {
      const app = createSSRApp(SessionCountdown, { manager: sm, id: "a" });
      app.config.warnHandler = (message) => warnings.push(message);
      const element = document.body.appendChild(document.createElement("div"));
      element.innerHTML = html;
      const server = element.querySelector(".who");
      apps.push(app);
      app.mount(element);
      expect(warnings).toEqual([]);
      expect(errors).not.toHaveBeenCalled();
      // The server's elements were kept (hydrated, not replaced), and now show the session.
      await until(() => element.querySelector(".who")?.textContent === "Ada v1");
      expect(element.querySelector(".who")).toBe(server);
      expect(element.querySelector(".status")?.textContent).toBe("ready");
    } finally {
      errors.mockRestore();
      scope.stop();
    }
  });
});

describe("on a real browser store", () => {
  it("shows what another manager of the namespace (another tab) writes to localStorage", async () => {
    const namespace = `vue-${crypto.randomUUID()}`;
    const writer = await manager({ backend: "localStorage", namespace });
    await writer.add("a", { data: { name: "Ada" }, ttl: "1h" });
    const reader = await manager({ backend: "localStorage", namespace });
    const { text } = show({ manager: reader, id: "a" });
    await until(() => text("who") === "Ada v1"); // read from localStorage
    expect(localStorage.length).toBeGreaterThan(0);

    await writer.update("a", { name: "Grace" });
    await until(() => text("who") === "Grace v2");
    await writer.remove("a");
    await until(() => text("who") === "nobody");
  });
});
