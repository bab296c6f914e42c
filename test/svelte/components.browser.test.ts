// Svelte 5 components in a real Chromium page, compiled by @sveltejs/vite-plugin-svelte as an
// app's Vite build compiles them: one reads the stores with `$store`, one with `fromStore`.
import { flushSync, mount, unmount } from "svelte";
import { afterEach, describe, expect, it, vi } from "vitest";
import { SessionManager } from "../../src/index.ts";
import { memoryStore } from "../../src/stores/memory.ts";
import { listenersOf } from "./listeners.ts";
import SessionLegacy from "./SessionLegacy.svelte";
import SessionRunes from "./SessionRunes.svelte";
import SessionView from "./SessionView.svelte";
import Switcher from "./Switcher.svelte";

type Data = { name: string };
const managers: SessionManager<Data>[] = [];
const mounted: Record<string, unknown>[] = [];
afterEach(async () => {
  for (const component of mounted.splice(0)) unmount(component);
  vi.useRealTimers();
  for (const sm of managers.splice(0)) await sm.close();
  document.body.replaceChildren();
});

function track(sm: SessionManager<Data>): SessionManager<Data> {
  managers.push(sm);
  return sm;
}

/** Mounts `component` in a new element of the page; returns that element and the component. */
function show(
  component: typeof SessionView | typeof SessionRunes | typeof SessionLegacy,
  sm: SessionManager<Data>,
) {
  const target = document.body.appendChild(document.createElement("div"));
  const instance = mount(component, { target, props: { manager: sm, id: "a" } });
  mounted.push(instance);
  flushSync();
  return { target, instance };
}

/** The text of the element with this `data-testid` in `target`, once Svelte has updated. */
function text(target: HTMLElement, testId: string): string | undefined {
  flushSync();
  return target.querySelector(`[data-testid="${testId}"]`)?.textContent ?? undefined;
}

/** A task after every pending promise (MessageChannel: not faked with the timers). */
function settle(): Promise<void> {
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => resolve();
    channel.port2.postMessage(undefined);
  });
}

function fakeClock() {
  vi.useFakeTimers({
    toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval", "Date"],
  });
}

describe("Svelte components", () => {
  it("$store syntax: shows the session and a countdown, follows changes, unmounting releases", async () => {
    fakeClock();
    const sm = track(new SessionManager<Data>({ backend: memoryStore(), warnBefore: 0 }));
    await sm.add("a", { data: { name: "Ada" }, ttl: "1m" });
    const listeners = listenersOf(sm);
    const { target, instance } = show(SessionView, sm);
    expect(text(target, "name")).toBe("nobody"); // rendered at once, before anything is read
    await settle();
    expect(text(target, "name")).toBe("Ada");
    expect(text(target, "left")).toBe("60 s");
    expect(text(target, "count")).toBe("1 sessions");
    expect(text(target, "status")).toBe("ready");
    expect(listeners()).toBeGreaterThan(0);

    await vi.advanceTimersByTimeAsync(1000);
    expect(text(target, "left")).toBe("59 s");
    await vi.advanceTimersByTimeAsync(1000);
    expect(text(target, "left")).toBe("58 s");
    await sm.touch("a");
    expect(text(target, "left")).toBe("60 s");
    await sm.update("a", { name: "Grace" });
    expect(text(target, "name")).toBe("Grace");
    await sm.add("b", { data: { name: "Bob" } });
    expect(text(target, "count")).toBe("2 sessions");
    await sm.remove("a");
    expect(text(target, "name")).toBe("nobody");
    expect(text(target, "left")).toBe("no session");
    expect(text(target, "count")).toBe("1 sessions");

    unmount(instance);
    mounted.splice(0);
    expect(listeners()).toBe(0);
  });

  it("fromStore: shows the session and a countdown, follows a touch, unmounting releases", async () => {
    fakeClock();
    const sm = track(new SessionManager<Data>({ backend: memoryStore(), warnBefore: 0 }));
    await sm.add("a", { data: { name: "Ada" }, ttl: "1m" });
    const listeners = listenersOf(sm);
    const { target, instance } = show(SessionRunes, sm);
    expect(text(target, "name")).toBe("nobody");
    await settle();
    expect(text(target, "name")).toBe("Ada");
    expect(text(target, "left")).toBe("60 s");
    await vi.advanceTimersByTimeAsync(3000);
    expect(text(target, "left")).toBe("57 s");
    await sm.touch("a");
    expect(text(target, "left")).toBe("60 s");
    await sm.update("a", { name: "Grace" });
    expect(text(target, "name")).toBe("Grace");
    await vi.advanceTimersByTimeAsync(60_000); // expires
    expect(text(target, "name")).toBe("nobody");
    expect(text(target, "left")).toBe("no session");

    unmount(instance);
    mounted.splice(0);
    // fromStore lets go of a store a tick after its last reader is gone (Svelte's createSubscriber).
    await settle();
    expect(listeners()).toBe(0);
  });

  it("Svelte 4 syntax ($: and $store): shows the session and a countdown, unmounting releases", async () => {
    fakeClock();
    const sm = track(new SessionManager<Data>({ backend: memoryStore(), warnBefore: 0 }));
    await sm.add("a", { data: { name: "Ada" }, ttl: "1m" });
    const listeners = listenersOf(sm);
    const { target, instance } = show(SessionLegacy, sm);
    await settle();
    expect(text(target, "name")).toBe("Ada");
    expect(text(target, "left")).toBe("60 s");
    await vi.advanceTimersByTimeAsync(1000);
    expect(text(target, "left")).toBe("59 s");
    await sm.update("a", { name: "Grace" });
    expect(text(target, "name")).toBe("Grace");
    await sm.remove("a");
    expect(text(target, "name")).toBe("nobody");
    unmount(instance);
    mounted.splice(0);
    expect(listeners()).toBe(0);
  });

  it("follows another session when the id prop changes", async () => {
    const sm = track(new SessionManager<Data>({ backend: memoryStore(), warnBefore: 0 }));
    await sm.add("a", { data: { name: "Ada" } });
    await sm.add("b", { data: { name: "Bob" } });
    const listeners = listenersOf(sm);
    const target = document.body.appendChild(document.createElement("div"));
    const instance = mount(Switcher, { target, props: { manager: sm } });
    await expect.poll(() => text(target, "name")).toBe("Ada");
    target.querySelector("button")?.click();
    await expect.poll(() => text(target, "name")).toBe("Bob");
    await sm.update("a", { name: "Ada L." }); // the first id no longer shown
    await sm.update("b", { name: "Bo" });
    await expect.poll(() => text(target, "name")).toBe("Bo");
    unmount(instance);
    expect(listeners()).toBe(0);
  });

  it("on localStorage, shows what another tab of the namespace changes", async () => {
    // Two managers of one namespace in one page stand in for two tabs (BroadcastChannel reaches
    // every other channel of the name, same page included).
    const namespace = `svelte-${crypto.randomUUID().slice(0, 8)}`;
    const [here, there] = [0, 1].map(() =>
      track(new SessionManager<Data>({ backend: "localStorage", namespace, warnBefore: 0 })),
    ) as [SessionManager<Data>, SessionManager<Data>];
    await Promise.all([here.ready, there.ready]);
    await there.add("a", { data: { name: "Ada" }, ttl: "1m" });
    expect(Object.keys(localStorage).filter((key) => key.includes(namespace))).not.toEqual([]);
    const listeners = listenersOf(here);
    const { target, instance } = show(SessionView, here);
    await expect.poll(() => text(target, "name")).toBe("Ada");
    expect(text(target, "left")).toMatch(/^\d+ s$/); // real time: a second may have passed
    await there.update("a", { name: "Grace" });
    await expect.poll(() => text(target, "name"), { timeout: 5000 }).toBe("Grace");
    await there.remove("a");
    await expect.poll(() => text(target, "name"), { timeout: 5000 }).toBe("nobody");
    expect(text(target, "count")).toBe("0 sessions");
    unmount(instance);
    mounted.splice(0);
    expect(listeners()).toBe(0);
  });
});
