// The React hooks in a real Chromium page, bundled by Vite as an app's code is, with react-dom's
// client: what re-renders, hydration of server HTML, warnings, status, unmounting, and managers
// on real browser storage (IndexedDB; localStorage shared by two managers standing in for tabs).
import { act, createElement, type ReactNode, StrictMode, useState } from "react";
import { createRoot, hydrateRoot, type Root } from "react-dom/client";
import { renderToString } from "react-dom/server";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { SessionManager } from "../../src/index.ts";
import { SessionManager as CoreSessionManager } from "../../src/manager.ts";
import {
  type ManagerLike,
  useExpiringSoon,
  useManagerStatus,
  useSession,
  useSessions,
  useTimeLeft,
} from "../../src/react/index.ts";
import { memoryStore } from "../../src/stores/memory.ts";
import type { Session } from "../../src/types.ts";
import { listening } from "../bindings/listening.ts";

beforeAll(() => {
  // Tells React that `act` is used here, so that it warns of updates outside it.
  (globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;
});

const run = crypto.randomUUID().slice(0, 8);
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function coreManager<Data = unknown>(warnBefore = 0): CoreSessionManager<Data> {
  const sm = new CoreSessionManager<Data>({ backend: memoryStore(), warnBefore });
  cleanups.push(() => sm.close());
  return sm;
}

/** A container in the page, removed after the test. */
function container(): HTMLElement {
  const element = document.createElement("div");
  document.body.append(element);
  cleanups.push(() => element.remove());
  return element;
}

/** A root in a new container of the page, unmounted after the test. */
function mount(node: ReactNode): { root: Root; container: HTMLElement } {
  const element = container();
  const root = createRoot(element);
  act(() => root.render(node));
  cleanups.push(() => act(() => root.unmount()));
  return { root, container: element };
}

/** Lets loads and events reach React, inside `act`. */
const flush = (ms = 20) => act(() => new Promise((resolve) => setTimeout(resolve, ms)));

// The components: each counts its renders in the object it is given.

interface RowProps {
  sm: ManagerLike<number>;
  id: string;
  index: number;
  probe: { renders: number[]; versions: (number | undefined)[] };
}
function Row({ sm, id, index, probe }: RowProps) {
  probe.renders[index] = (probe.renders[index] ?? 0) + 1;
  const session = useSession(sm, id);
  probe.versions[index] = session?.version;
  return createElement("li", null, `${id}: ${session?.data ?? "…"}`);
}

function Everything({ sm, probe }: { sm: ManagerLike; probe: { renders: number } }) {
  probe.renders++;
  const session = useSession(sm, "a");
  const sessions = useSessions(sm);
  const left = useTimeLeft(sm, "a", { interval: 50 });
  const status = useManagerStatus(sm);
  useExpiringSoon(sm, () => {});
  return createElement("span", null, `${session?.version}|${sessions.length}|${left}|${status}`);
}

interface CountProps {
  sm: ManagerLike;
  probe: { parent: number; countdown: number; session: number; seen: (number | undefined)[] };
}
function Countdown({ sm, probe }: CountProps) {
  probe.countdown++;
  const left = useTimeLeft(sm, "a", { interval: 40 });
  probe.seen.push(left);
  return createElement("b", null, String(left));
}
function Who({ sm, probe }: CountProps) {
  probe.session++;
  return createElement("i", null, useSession(sm, "a")?.id);
}
function CountdownPage(props: CountProps) {
  props.probe.parent++;
  return createElement("div", null, createElement(Countdown, props), createElement(Who, props));
}

function Hydrated({ sm }: { sm: ManagerLike<{ name: string }> }) {
  const session = useSession(sm, "ada");
  const sessions = useSessions(sm);
  const left = useTimeLeft(sm, "ada");
  const status = useManagerStatus(sm);
  const shown = left === undefined ? "-" : "t";
  return createElement(
    "p",
    null,
    `${session?.data.name ?? "nobody"}|${sessions.length}|${shown}|${status}`,
  );
}

interface WarnProps {
  sm: ManagerLike<string>;
  heard: [string, Session<string>, number][];
  control: { rerender(n: number): void };
}
function Warn({ sm, heard, control }: WarnProps) {
  const [n, setN] = useState(0);
  control.rerender = setN;
  useExpiringSoon(sm, (session, msLeft) => heard.push([`render ${n}`, session, msLeft]));
  return createElement("span", null, n);
}

function Status({ sm, seen }: { sm: ManagerLike; seen: string[] }) {
  const status = useManagerStatus(sm);
  if (seen.at(-1) !== status) seen.push(status);
  const sessions = useSessions(sm);
  return createElement("span", null, `${status} ${sessions.length}`);
}

function OtherTab({ sm, probe }: { sm: ManagerLike<{ n: number }>; probe: { renders: number } }) {
  probe.renders++;
  const session = useSession(sm, "x");
  const all = useSessions(sm);
  return createElement("span", null, `${session?.data.n ?? "-"} ${all.length}`);
}

describe("useSession", () => {
  it("re-renders only the component of the session that changed, of 100", async () => {
    const sm = coreManager<number>();
    const ids = Array.from({ length: 100 }, (_, i) => `user-${i}`);
    for (const [i, id] of ids.entries()) await sm.add(id, { data: i });
    const probe = {
      renders: new Array<number>(ids.length).fill(0),
      versions: new Array<number | undefined>(ids.length),
    };
    const rows = ids.map((id, index) => createElement(Row, { key: id, sm, id, index, probe }));
    const { container } = mount(createElement("ul", null, rows));
    await flush();
    expect(container.textContent).toContain("user-99: 99");
    expect(probe.versions.every((v) => v === 1)).toBe(true);
    const total = () => probe.renders.reduce((a, b) => a + b);
    probe.renders.fill(0);

    await act(() => sm.touch("user-42"));
    expect(total()).toBe(1);
    expect(probe.renders[42]).toBe(1);
    expect(probe.versions[42]).toBe(2);

    probe.renders.fill(0);
    await act(() => sm.update("user-7", 700));
    await act(() => sm.remove("user-8"));
    expect(total()).toBe(2);
    expect(probe.renders[7]).toBe(1);
    expect(probe.renders[8]).toBe(1);
    expect(container.textContent).toContain("user-7: 700");
    expect(container.textContent).toContain("user-8: …");
  });

  it("lets go of the manager when unmounted, and renders no more", async () => {
    const sm = coreManager();
    await sm.add("a");
    const counted = listening(sm);
    const probe = { renders: 0 };
    const element = container();
    const root = createRoot(element);
    act(() => root.render(createElement(Everything, { sm, probe })));
    await flush();
    expect(element.textContent).toMatch(/^1\|1\|\d+\|ready$/);
    expect(counted.total()).toBeGreaterThan(0);
    act(() => root.unmount());
    expect(counted.total()).toBe(0);
    const after = probe.renders;
    await sm.touch("a");
    await flush(150); // three of the countdown's intervals
    expect(probe.renders).toBe(after);
  });
});

describe("StrictMode", () => {
  it("follows the session through React's second mount, and lets go on unmount", async () => {
    const sm = coreManager();
    await sm.add("a");
    const counted = listening(sm);
    const probe = { renders: 0 };
    const element = container();
    const root = createRoot(element);
    act(() =>
      root.render(createElement(StrictMode, null, createElement(Everything, { sm, probe }))),
    );
    await flush();
    expect(element.textContent).toMatch(/^1\|1\|\d+\|ready$/);
    await act(() => sm.touch("a"));
    expect(element.textContent).toMatch(/^2\|1\|\d+\|ready$/);
    await act(() => sm.remove("a"));
    expect(element.textContent).toBe("undefined|0|undefined|ready");
    act(() => root.unmount());
    expect(counted.total()).toBe(0);
  });
});

describe("useTimeLeft", () => {
  it("ticks in its own component only", async () => {
    const sm = coreManager();
    await sm.add("a", { ttl: "1h" });
    const probe = { parent: 0, countdown: 0, session: 0, seen: [] as (number | undefined)[] };
    mount(createElement(CountdownPage, { sm, probe }));
    await flush();
    const before = { ...probe };
    await act(() =>
      vi.waitFor(() => expect(probe.countdown).toBeGreaterThan(before.countdown + 3)),
    );
    expect(probe.parent).toBe(before.parent);
    expect(probe.session).toBe(before.session);
    const values = probe.seen.filter((v) => v !== undefined);
    expect(values.length).toBeGreaterThan(3);
    expect(values.every((v) => v % 40 === 0)).toBe(true);
    // It counts down: each value is below the one before it.
    expect(values.every((v, i) => i === 0 || v < (values[i - 1] as number))).toBe(true);
  });
});

describe("hydration", () => {
  it("hydrates server HTML without a mismatch, then shows the session", async () => {
    const sm = new SessionManager<{ name: string }>({
      backend: "localStorage",
      namespace: `${run}-hydrate`,
    });
    cleanups.push(() => sm.close());
    await sm.add("ada", { data: { name: "Ada" } });
    const html = renderToString(createElement(Hydrated, { sm }));
    expect(html).toBe("<p>nobody|0|-|loading</p>");
    const element = container();
    element.innerHTML = html;

    const errors = vi.spyOn(console, "error");
    const recoverable: unknown[] = [];
    let root: Root | undefined;
    await act(async () => {
      root = hydrateRoot(element, createElement(Hydrated, { sm }), {
        onRecoverableError: (error) => recoverable.push(error),
      });
    });
    cleanups.push(() => act(() => root?.unmount()));
    await flush();
    expect(element.textContent).toBe("Ada|1|t|ready");
    expect(recoverable).toEqual([]);
    expect(errors).not.toHaveBeenCalled();
  });
});

describe("useExpiringSoon", () => {
  it("calls the latest listener at the manager's warnBefore, subscribed once", async () => {
    const sm = coreManager<string>(1000);
    const counted = listening(sm);
    const heard: WarnProps["heard"] = [];
    const control = { rerender: (_: number) => {} };
    mount(createElement(Warn, { sm, heard, control }));
    for (const n of [1, 2, 3]) act(() => control.rerender(n));
    expect(counted.active.get("expiringSoon")).toBe(1);
    expect(counted.calls.on).toBe(1);
    const session = await sm.add("a", { ttl: 1150, data: "x" });
    await act(() => vi.waitFor(() => expect(heard).toHaveLength(1), { timeout: 2000 }));
    const [from, warned, msLeft] = heard[0] as WarnProps["heard"][number];
    expect(from).toBe("render 3");
    expect(warned).toEqual(session);
    expect(msLeft).toBeGreaterThan(0);
    expect(msLeft).toBeLessThanOrEqual(1000);
  });
});

describe("useManagerStatus", () => {
  it("goes from loading to ready on real IndexedDB", async () => {
    const sm = new SessionManager({ backend: "indexedDB", namespace: `${run}-status` });
    cleanups.push(() => sm.close());
    const seen: string[] = [];
    const { container } = mount(createElement(Status, { sm, seen }));
    await act(() => sm.ready);
    await act(() => vi.waitFor(() => expect(seen).toEqual(["loading", "ready"])));
    await act(() => sm.add("a"));
    expect(container.textContent).toBe("ready 1");
  });
});

describe("tabs", () => {
  it("shows in one manager what another on the same localStorage did", async () => {
    const namespace = `${run}-tabs`;
    const [a, b] = [0, 1].map(() => {
      const sm = new SessionManager<{ n: number }>({ backend: "localStorage", namespace });
      cleanups.push(() => sm.close());
      return sm;
    }) as [SessionManager<{ n: number }>, SessionManager<{ n: number }>];
    await Promise.all([a.ready, b.ready]);
    const probe = { renders: 0 };
    const { container } = mount(createElement(OtherTab, { sm: b, probe }));
    const shows = (text: string) =>
      act(() => vi.waitFor(() => expect(container.textContent).toBe(text)));
    await flush();
    expect(container.textContent).toBe("- 0");
    await act(() => a.add("x", { data: { n: 1 } }));
    await shows("1 1");
    await act(() => a.update("x", { n: 2 }));
    await shows("2 1");
    const before = probe.renders;
    await act(() => a.add("y", { data: { n: 9 } }));
    await shows("2 2");
    expect(probe.renders).toBe(before + 1); // the list changed; the session "x" did not
    await act(() => a.remove("x"));
    await shows("- 1");
  });
});
