// Another writer (a tab, a process) changing the same session between our read and our write:
// conditional writes catch it, the manager retries on the newer version, and nothing is lost.
import { describe, expect, it, vi } from "vitest";
import { ConflictError, SessionManager } from "../src/index.ts";
import { memoryStore } from "../src/stores/memory.ts";
import type { SessionRecord, SessionStore, WriteCondition } from "../src/stores/types.ts";
import { T0, useFakeClock } from "./helpers/clock.ts";

useFakeClock();

/** A memory store where `interfere` runs once per conditional write, just before it. */
function racingStore(interfere: (inner: SessionStore, id: string) => void) {
  const inner = memoryStore();
  let races = 0;
  const store: SessionStore = {
    ...inner,
    set(record: SessionRecord, condition?: WriteCondition) {
      if (condition && races > 0) {
        races--;
        interfere(inner, record.id);
      }
      return inner.set(record, condition);
    },
    delete(id: string, condition?: { ifVersion: number }) {
      if (condition && races > 0) {
        races--;
        interfere(inner, id);
      }
      return inner.delete(id, condition);
    },
  };
  return { store, inner, race: (times: number) => (races = times) };
}

function bump(inner: SessionStore, id: string, patch: Partial<SessionRecord>) {
  const current = inner.get(id) as SessionRecord;
  inner.set({ ...current, ...patch, version: current.version + 1 });
}

describe("concurrent writers", () => {
  it("update retries on the newer version, so no update is lost", async () => {
    const { store, inner, race } = racingStore((s, id) =>
      bump(s, id, {
        data: {
          items: [...((s.get(id) as SessionRecord).data as { items: string[] }).items, "theirs"],
        },
      }),
    );
    const sm = new SessionManager<{ items: string[] }>({ backend: store, warnBefore: 0 });
    await sm.add("cart", { data: { items: [] } });
    race(1);
    const updater = vi.fn((old: { items: string[] }) => ({ items: [...old.items, "mine"] }));
    const session = await sm.update("cart", updater);
    expect(updater).toHaveBeenCalledTimes(2);
    expect(session.data.items).toEqual(["theirs", "mine"]);
    expect(session.version).toBe(3);
    expect(inner.get("cart")).toEqual(session);
  });

  it("add loses to a writer that created the id first", async () => {
    const { store, race } = racingStore((s, id) =>
      s.set({
        id,
        data: "theirs",
        createdAt: T0,
        updatedAt: T0,
        expiresAt: T0 + 60_000,
        ttl: 60_000,
        version: 1,
      }),
    );
    const sm = new SessionManager({ backend: store });
    race(1);
    await expect(sm.add("a", { data: "mine" })).rejects.toMatchObject({ code: "SESSION_EXISTS" });
    expect((await sm.get("a"))?.data).toBe("theirs");
  });

  it("remove does not delete a version it did not read", async () => {
    const { store, inner, race } = racingStore((s, id) => bump(s, id, { data: "changed" }));
    const sm = new SessionManager({ backend: store });
    const removed = vi.fn();
    sm.on("removed", removed);
    await sm.add("a", { data: "original" });
    race(1);
    expect(await sm.remove("a")).toBe(true);
    expect(removed.mock.calls[0]?.[0]).toMatchObject({ data: "changed", version: 2 });
    expect(inner.get("a")).toBeUndefined();
  });

  it("gives up with ConflictError when it keeps losing, and writes nothing", async () => {
    const { store, inner, race } = racingStore((s, id) => bump(s, id, {}));
    const sm = new SessionManager({ backend: store });
    await sm.add("a", { data: "kept" });
    race(100);
    const error = await sm.touch("a").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConflictError);
    expect(error).toMatchObject({ code: "CONFLICT" });
    expect(inner.get("a")).toMatchObject({ data: "kept", expiresAt: T0 + 30 * 60_000 });
  });

  it("the sweep does not expire a session another writer extended just before it", async () => {
    const { store, inner, race } = racingStore((s, id) => bump(s, id, { expiresAt: T0 + 120_000 }));
    const sm = new SessionManager({ backend: store, warnBefore: 0 });
    const expired = vi.fn();
    sm.onExpired(expired);
    await sm.add("a", { ttl: "1m" });
    race(1);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(expired).not.toHaveBeenCalled();
    expect(inner.get("a")).toMatchObject({ version: 2 });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(expired).toHaveBeenCalledOnce();
    expect(inner.get("a")).toBeUndefined();
  });
});
