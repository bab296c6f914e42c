// The localStorage and sessionStorage stores on Chromium's own storage: the shared contract,
// sessions that outlive the page's manager (a reload), and encryption that leaves no plaintext.
import { afterEach, describe, expect, it } from "vitest";
import { SessionManager } from "../../src/index.ts";
import { localStorageStore, sessionStorageStore } from "../../src/stores/webstorage.ts";
import { testStore } from "./conformance.ts";

// Storage outlives a test in the browser profile: a prefix per run keeps runs apart.
const run = crypto.randomUUID().slice(0, 8);

// A twin is another store object on the same Storage, as a second manager of the page.
const onLocal = (namespace: string) => localStorageStore({ namespace: `${run}-${namespace}` });
const onSession = (namespace: string) => sessionStorageStore({ namespace: `${run}-${namespace}` });
testStore({ name: "localStorage (browser)", create: onLocal, twin: onLocal });
testStore({ name: "sessionStorage (browser)", create: onSession, twin: onSession });

const managers: SessionManager<unknown>[] = [];
afterEach(async () => {
  for (const sm of managers.splice(0)) {
    await sm.clear();
    await sm.close();
  }
});
function manager(options: ConstructorParameters<typeof SessionManager>[0]): SessionManager {
  const sm = new SessionManager(options);
  managers.push(sm);
  return sm;
}

describe("web storage in a browser", () => {
  it("keeps sessions for the next manager on the page (a reload)", async () => {
    const namespace = `${run}-reload`;
    const first = new SessionManager({ backend: "localStorage", namespace });
    const added = await first.add("user123", { data: { name: "Ada" }, ttl: "1h" });
    await first.close();
    const second = manager({ backend: "localStorage", namespace });
    expect(await second.get("user123")).toEqual(added);
    expect(second.status).toBe("ready");
  });

  it("with encryption, the stored bytes hold no plaintext of the data", async () => {
    const key = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, [
      "encrypt",
      "decrypt",
    ]);
    const namespace = `${run}-sealed`;
    const sm = manager({ backend: "localStorage", namespace, encryption: { key } });
    const data = { email: "ada@example.com", note: "PLAINTEXT-MARKER" };
    await sm.add("user123", { data });
    const raw = localStorage.getItem(`sessionmanager:${namespace}:user123`) ?? "";
    expect(raw).toContain('"encrypted":true');
    expect(raw).not.toContain("PLAINTEXT-MARKER");
    expect(raw).not.toContain("ada@example.com");
    expect((await sm.get("user123"))?.data).toEqual(data);
  });
});

// Issue 11, finding 9: `shop`'s keys (`sessionmanager:shop:<id>`) were a prefix of `shop:eu`'s.
describe("web storage namespaces in a browser", () => {
  it("that extend each other with ':' never see, list or clear each other's sessions", async () => {
    for (const backend of ["localStorage", "sessionStorage"] as const) {
      const shop = manager({ backend, namespace: `${run}-shop` });
      const eu = manager({ backend, namespace: `${run}-shop:eu` });
      const alice = await eu.add("alice", { data: { eu: true } });
      const bob = await shop.add("bob");
      expect(await shop.get("eu:alice")).toBeUndefined();
      expect(await shop.list()).toEqual([bob]);
      expect(await eu.list()).toEqual([alice]);
      await shop.clear();
      expect(await eu.list()).toEqual([alice]);
      await shop.add("eu:alice");
      await eu.clear();
      expect((await shop.list()).map((s) => s.id)).toEqual(["eu:alice"]);
      const storage = backend === "localStorage" ? localStorage : sessionStorage;
      expect(storage.getItem(`sessionmanager:${run}-shop:eu:alice`)).not.toBeNull();
    }
  });
});
