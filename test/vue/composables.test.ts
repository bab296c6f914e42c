// biome-ignore-all lint/correctness/useHookAtTopLevel: Vue composables, not React hooks (they run
// in any effect scope, and so does vitest's useFakeClock helper).
// The Vue composables in Node, inside a bare effectScope(), over a real SessionManager on a
// memory store, with a fake clock for expiry and countdowns.
import { afterEach, describe, expect, it, vi } from "vitest";
import { type EffectScope, effectScope, isReadonly, nextTick, ref, watch } from "vue";
import { timeLeftSource } from "../../src/bindings/sources.ts";
import { SessionManager } from "../../src/index.ts";
import {
  useExpiringSoon,
  useManagerStatus,
  useSession,
  useSessions,
  useTimeLeft,
} from "../../src/vue/index.ts";
import { useFakeClock } from "../helpers/clock.ts";
import { counted } from "./counted.ts";

useFakeClock();

type Data = { name: string } | null;

const managers: SessionManager<Data>[] = [];
const scopes: EffectScope[] = [];
afterEach(async () => {
  for (const scope of scopes.splice(0)) scope.stop();
  for (const sm of managers.splice(0)) await sm.close();
});

async function manager(options: { warnBefore?: number } = {}): Promise<SessionManager<Data>> {
  const sm = new SessionManager<Data>({
    backend: "memory",
    defaultTtl: "10m",
    warnBefore: 0,
    ...options,
  });
  managers.push(sm);
  await sm.ready;
  return sm;
}

/** Runs `fn` in a new effect scope, stopped after the test (or by the test). */
function inScope<T>(fn: () => T): { value: T; scope: EffectScope } {
  const scope = effectScope();
  scopes.push(scope);
  return { value: scope.run(fn) as T, scope };
}

/** What `fn` throws. */
function catching(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error("did not throw");
}

/** Lets the manager's promise chains (store reads, events) settle; timers stay where they are. */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
}

describe("useSession", () => {
  it("loads the session and follows touch, update and remove", async () => {
    const sm = await manager();
    await sm.add("a", { data: { name: "Ada" } });
    const { value: session } = inScope(() => useSession(sm, "a"));
    expect(session.value).toBeUndefined(); // not loaded yet
    await settle();
    expect(session.value).toMatchObject({ id: "a", data: { name: "Ada" }, version: 1 });

    await sm.touch("a");
    await settle();
    expect(session.value?.version).toBe(2);

    await sm.update("a", { name: "Grace" });
    await settle();
    expect(session.value).toMatchObject({ data: { name: "Grace" }, version: 3 });
    expect(session.value).toEqual(await sm.get("a"));

    await sm.remove("a");
    await settle();
    expect(session.value).toBeUndefined();

    await sm.add("a", { data: { name: "Ada again" } });
    await settle();
    expect(session.value?.data).toEqual({ name: "Ada again" });
  });

  it("becomes undefined when the session expires", async () => {
    const sm = await manager();
    await sm.add("a", { ttl: "5s" });
    const { value: session } = inScope(() => useSession(sm, "a"));
    await settle();
    expect(session.value?.id).toBe("a");
    await vi.advanceTimersByTimeAsync(5_000);
    await settle();
    expect(session.value).toBeUndefined();
  });

  it("follows a rotation: the old id ends, the new id holds the session", async () => {
    const sm = await manager();
    await sm.add("a", { data: { name: "Ada" } });
    const { value: old } = inScope(() => useSession(sm, "a"));
    await settle();
    expect(old.value?.id).toBe("a");
    const rotated = await sm.rotate("a");
    await settle();
    expect(old.value).toBeUndefined();
    const { value: fresh } = inScope(() => useSession(sm, rotated.id));
    await settle();
    expect(fresh.value).toMatchObject({ id: rotated.id, data: { name: "Ada" } });
  });

  it("does not trigger a watcher when another session changes", async () => {
    const sm = await manager();
    await sm.add("a");
    await sm.add("b");
    const { manager: watched } = counted(sm);
    const seen: (number | undefined)[] = [];
    inScope(() => {
      const session = useSession(watched, "a");
      watch(session, (value) => seen.push(value?.version), { flush: "sync" });
    });
    await settle();
    expect(seen).toEqual([1]);
    await sm.touch("b");
    await sm.update("b", { name: "B" });
    await sm.remove("b");
    await sm.add("c");
    await settle();
    expect(seen).toEqual([1]);
    await sm.touch("a");
    await settle();
    expect(seen).toEqual([1, 2]);
  });

  it("detaches when its scope stops: no more updates, the manager's listeners released", async () => {
    const sm = await manager();
    await sm.add("a");
    const { manager: watched, listeners } = counted(sm);
    const timers = vi.getTimerCount(); // the manager's own
    const { value, scope } = inScope(() => ({
      session: useSession(watched, "a"),
      sessions: useSessions(watched),
      left: useTimeLeft(watched, "a"),
      status: useManagerStatus(watched),
    }));
    await settle();
    expect(value.session.value?.version).toBe(1);
    expect(value.sessions.value).toHaveLength(1);
    expect(listeners()).toBeGreaterThan(0);

    scope.stop();
    expect(listeners()).toBe(0);
    await sm.touch("a");
    await sm.add("b");
    await vi.advanceTimersByTimeAsync(3_000);
    await settle();
    expect(value.session.value?.version).toBe(1);
    expect(value.sessions.value).toHaveLength(1);
    expect(value.left.value).toBe(600_000);
    expect(vi.getTimerCount()).toBe(timers); // no countdown tick left behind
  });

  it("switches its subscription when the id (a ref or a getter) changes", async () => {
    const sm = await manager();
    await sm.add("a", { data: { name: "A" } });
    await sm.add("b", { data: { name: "B" } });
    const { manager: watched, listeners } = counted(sm);
    const id = ref<string | null>("a");
    const other = ref("a");
    const { value } = inScope(() => ({
      byRef: useSession(watched, id),
      byGetter: useSession(watched, () => `${other.value}`),
    }));
    await settle();
    expect(value.byRef.value?.data).toEqual({ name: "A" });
    expect(value.byGetter.value?.data).toEqual({ name: "A" });

    id.value = "b";
    other.value = "b";
    await nextTick();
    await settle();
    expect(value.byRef.value?.data).toEqual({ name: "B" });
    expect(value.byGetter.value?.data).toEqual({ name: "B" });
    await sm.update("a", { name: "A2" });
    await settle();
    expect(value.byRef.value?.data).toEqual({ name: "B" });
    await sm.update("b", { name: "B2" });
    await settle();
    expect(value.byRef.value?.data).toEqual({ name: "B2" });

    id.value = null;
    await nextTick();
    expect(value.byRef.value).toBeUndefined();
    expect(listeners()).toBeGreaterThan(0); // the getter's subscription is still there
    other.value = "nobody";
    await nextTick();
    await settle();
    expect(value.byGetter.value).toBeUndefined();
  });

  it("returns a readonly ref: a write fails with a warning", async () => {
    const sm = await manager();
    await sm.add("a");
    const { value: session } = inScope(() => useSession(sm, "a"));
    await settle();
    expect(isReadonly(session)).toBe(true);
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    try {
      // @ts-expect-error: the ref is readonly
      session.value = undefined;
      expect(warn).toHaveBeenCalledWith(expect.stringMatching(/readonly/));
    } finally {
      warn.mockRestore();
    }
    expect(session.value).toMatchObject({ id: "a" });
  });

  it("refuses an id that is not a string", async () => {
    const sm = await manager();
    expect(() => inScope(() => useSession(sm, (() => 42) as unknown as () => string))).toThrow(
      new TypeError("id must be a string, null or undefined, got number"),
    );
  });
});

describe("useSessions", () => {
  it("lists the live sessions and follows additions, removals and expiry", async () => {
    const sm = await manager();
    await sm.add("a");
    const { value: sessions } = inScope(() => useSessions(sm));
    expect(sessions.value).toEqual([]);
    await settle();
    expect(sessions.value.map((s) => s.id)).toEqual(["a"]);
    await sm.add("b", { ttl: "5s" });
    await settle();
    expect(sessions.value.map((s) => s.id).sort()).toEqual(["a", "b"]);
    expect(Object.isFrozen(sessions.value)).toBe(true);
    await vi.advanceTimersByTimeAsync(5_000);
    await settle();
    expect(sessions.value.map((s) => s.id)).toEqual(["a"]);
    await sm.remove("a");
    await settle();
    expect(sessions.value).toEqual([]);
  });
});

describe("useTimeLeft", () => {
  it("counts down every interval, jumps back on touch and ends with the session", async () => {
    const sm = await manager();
    await sm.add("a", { ttl: "5s" });
    const { value } = inScope(() => ({
      seconds: useTimeLeft(sm, "a"),
      halves: useTimeLeft(sm, "a", { interval: 500 }),
    }));
    await settle();
    expect(value.seconds.value).toBe(5_000);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(value.seconds.value).toBe(4_000);
    await vi.advanceTimersByTimeAsync(600);
    expect(value.seconds.value).toBe(4_000); // 3.4 s, rounded up to the second
    expect(value.halves.value).toBe(3_500);
    await sm.touch("a");
    await settle();
    expect(value.seconds.value).toBe(5_000);
    await vi.advanceTimersByTimeAsync(5_000);
    await settle();
    expect(value.seconds.value).toBeUndefined();
    expect(value.halves.value).toBeUndefined();
  });

  it("refuses an interval setTimeout cannot wait, at once and as the source does", async () => {
    const sm = await manager();
    for (const interval of [0, 0.5, -1, Number.NaN, 2 ** 31]) {
      const error = catching(() => timeLeftSource(sm, "a", interval));
      expect(error).toBeInstanceOf(RangeError);
      expect((error as Error).message).toContain(`${interval}`);
      // Before any id is known: the id comes later, the mistake is the caller's now.
      expect(() => inScope(() => useTimeLeft(sm, undefined, { interval }))).toThrow(error as Error);
    }
    // The largest setTimeout can wait is fine.
    expect(() => inScope(() => useTimeLeft(sm, "a", { interval: 2 ** 31 - 1 }))).not.toThrow();
  });
});

describe("useExpiringSoon", () => {
  it("calls the listener before expiry, until its scope stops", async () => {
    const sm = await manager({ warnBefore: 1_000 });
    const heard: [string, number][] = [];
    const { scope } = inScope(() =>
      useExpiringSoon(sm, (session, msLeft) => heard.push([session.id, msLeft])),
    );
    await sm.add("a", { ttl: "5s" });
    await vi.advanceTimersByTimeAsync(4_000);
    await settle();
    expect(heard).toEqual([["a", 1_000]]);

    scope.stop();
    await sm.add("b", { ttl: "5s" });
    await vi.advanceTimersByTimeAsync(5_000);
    await settle();
    expect(heard).toEqual([["a", 1_000]]);
  });

  it("refuses a listener that is not a function", async () => {
    const sm = await manager();
    expect(() => inScope(() => useExpiringSoon(sm, "nope" as unknown as () => void))).toThrow(
      new TypeError("listener must be a function, got string"),
    );
  });
});

describe("useManagerStatus", () => {
  it("follows the manager from loading to ready", async () => {
    const sm = new SessionManager<Data>({ backend: "memory" });
    managers.push(sm);
    const { value: status } = inScope(() => useManagerStatus(sm));
    expect(status.value).toBe("loading");
    await sm.ready;
    await settle();
    expect(status.value).toBe("ready");
  });
});
