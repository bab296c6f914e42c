// The IndexedDB store on Chromium's own IndexedDB: the shared contract, sessions that outlive the
// page's manager (a reload), one transaction per burst, and the failures a real browser produces.
import { afterEach, describe, expect, it, vi } from "vitest";
import { SessionManager } from "../../src/index.ts";
import { indexedDBStore } from "../../src/stores/indexeddb/index.ts";
import type { SessionRecord } from "../../src/stores/types.ts";
import { testStore } from "./conformance.ts";

// Databases outlive a test in the browser profile: a prefix per run keeps runs apart.
const run = crypto.randomUUID().slice(0, 8);
const names: string[] = [];
function ns(label: string): string {
  const namespace = `${run}-${label}`;
  names.push(`sessionmanager:${namespace}`);
  return namespace;
}

// A twin is a second connection to the same database, as another tab of the origin opens.
testStore({
  name: "indexedDB (browser)",
  create: (namespace) => indexedDBStore({ namespace: ns(namespace) }),
  twin: (namespace) => indexedDBStore({ namespace: `${run}-${namespace}` }),
});

const managers: SessionManager<unknown>[] = [];
function manager(options: ConstructorParameters<typeof SessionManager>[0]): SessionManager {
  const sm = new SessionManager(options);
  managers.push(sm);
  return sm;
}
afterEach(async () => {
  vi.restoreAllMocks();
  for (const sm of managers.splice(0)) await sm.close();
  for (const name of names.splice(0)) await done(indexedDB.deleteDatabase(name));
});

function record(id: string): SessionRecord {
  const now = Date.now();
  return {
    id,
    data: null,
    createdAt: now,
    updatedAt: now,
    expiresAt: now + 60_000,
    ttl: 60_000,
    version: 1,
  };
}

function done<T>(request: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

describe("indexedDB store in a browser", () => {
  it("keeps sessions across a reload (a new manager on the same namespace)", async () => {
    const namespace = ns("reload");
    const first = new SessionManager({ backend: indexedDBStore({ namespace }) });
    const added = await first.add("user123", { data: { name: "Ada" }, ttl: "1h" });
    await first.close();
    const second = manager({ backend: indexedDBStore({ namespace }) });
    await second.ready;
    expect(second.status).toBe("ready");
    expect(await second.get("user123")).toEqual(added);
    expect(Object.isFrozen((await second.get("user123"))?.data)).toBe(true);
  });

  it("runs 2,000 concurrent adds in two transactions", async () => {
    const sm = manager({ backend: indexedDBStore({ namespace: ns("burst") }) });
    await sm.ready;
    const transaction = vi.spyOn(IDBDatabase.prototype, "transaction");
    const ids = Array.from({ length: 2000 }, (_, i) => `user${i}`);
    await Promise.all(ids.map((id) => sm.add(id)));
    // At most one readonly transaction for the manager's gets, and one readwrite for its adds.
    const modes = transaction.mock.calls.map((call) => call[1]);
    expect(modes.filter((mode) => mode === "readwrite")).toHaveLength(1);
    expect(modes.length).toBeLessThanOrEqual(2);
    expect(await sm.list()).toHaveLength(2000);
  });

  it("opens again when the connection was closed under it", async () => {
    const opened: IDBDatabase[] = [];
    const factory = {
      open(name: string, version?: number) {
        const request = indexedDB.open(name, version);
        request.addEventListener("success", () => opened.push(request.result));
        return request;
      },
    } as IDBFactory;
    const sm = manager({
      backend: indexedDBStore({ namespace: ns("closed"), indexedDB: factory }),
    });
    await sm.add("a");
    opened[0]?.close(); // transaction() now throws "The database connection is closing."
    await sm.add("b");
    expect((await sm.list()).map((s) => s.id).sort()).toEqual(["a", "b"]);
    expect(opened).toHaveLength(2);
  });

  it("does not block another tab that deletes the database, and opens it again", async () => {
    const namespace = ns("versionchange");
    const store = indexedDBStore({ namespace });
    await store.open?.({ report: (error) => expect.unreachable(error.message) });
    await store.set(record("a"));
    const deleting = indexedDB.deleteDatabase(`sessionmanager:${namespace}`);
    const blocked = vi.fn();
    deleting.onblocked = blocked;
    await done(deleting);
    expect(blocked).not.toHaveBeenCalled();
    expect(await store.get("a")).toBeUndefined();
    expect(await store.set(record("b"))).toBe(true);
    expect((await store.list()).map((r) => r.id)).toEqual(["b"]);
    await store.close?.();
  });

  it("gives up on an upgrade blocked by an old tab, and falls back to memory", async () => {
    const namespace = ns("blocked");
    const old = await done(indexedDB.open(`sessionmanager:${namespace}`, 1));
    // A newer release of the store (one schema version up), while the old tab ignores versionchange.
    const newer = {
      open: (name: string, version = 1) => indexedDB.open(name, version + 1),
    } as IDBFactory;
    const sm = manager({ backend: indexedDBStore({ namespace, indexedDB: newer }) });
    const started = Date.now();
    await sm.ready;
    expect(sm.status).toBe("degraded");
    expect(Date.now() - started).toBeGreaterThanOrEqual(2900);
    old.close();
  });

  it("falls back to memory when indexedDB.open fails", async () => {
    vi.spyOn(IDBFactory.prototype, "open").mockImplementation(() => {
      throw new DOMException("The user denied permission to access the database.", "UnknownError");
    });
    const sm = manager({ backend: indexedDBStore({ namespace: ns("denied") }) });
    const reasons: Error[] = [];
    sm.on("degraded", (reason) => reasons.push(reason));
    await sm.ready;
    expect(sm.status).toBe("degraded");
    expect(reasons[0]?.message).toBe(
      "indexedDB store failed: The user denied permission to access the database.",
    );
    await sm.add("a", { data: 1 });
    expect((await sm.get("a"))?.data).toBe(1);
  });

  it("falls back to memory when the open request errors (a newer version on disk)", async () => {
    const namespace = ns("newer");
    (await done(indexedDB.open(`sessionmanager:${namespace}`, 7))).close();
    const sm = manager({ backend: indexedDBStore({ namespace }) });
    await sm.ready;
    expect(sm.status).toBe("degraded");
  });
});
