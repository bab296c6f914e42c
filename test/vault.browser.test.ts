// Encryption at rest on Chromium's IndexedDB, with a key that is itself kept in IndexedDB
// (`encryption: true`): what the database holds has no plaintext, and a new manager on the page
// (a reload) finds the same key and reads the sessions.
import { describe, expect, it } from "vitest";
import { SessionManager } from "../src/index.ts";

const run = crypto.randomUUID().slice(0, 8);

/** Every value in the `sessions` object store of `database`, as JSON text. */
async function rawDump(database: string): Promise<string> {
  const db = await new Promise<IDBDatabase>((resolve, reject) => {
    const request = indexedDB.open(database);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  const all = await new Promise<unknown[]>((resolve, reject) => {
    const request = db.transaction("sessions").objectStore("sessions").getAll();
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  db.close();
  return JSON.stringify(all);
}

describe("encryption at rest in a browser", () => {
  it("IndexedDB holds only ciphertext, and a reload finds the same device key", async () => {
    const namespace = `${run}-sealed`;
    const first = new SessionManager({ backend: "indexedDB", namespace, encryption: true });
    const data = { email: "ada@example.com", note: "PLAINTEXT-MARKER" };
    await first.add("user123", { data });
    const dump = await rawDump(`sessionmanager:${namespace}`);
    expect(dump).toContain('"encrypted":true');
    expect(dump).not.toContain("PLAINTEXT-MARKER");
    expect(dump).not.toContain("ada@example.com");
    await first.close();

    const second = new SessionManager({ backend: "indexedDB", namespace, encryption: true });
    expect((await second.get("user123"))?.data).toEqual(data);
    await second.clear();
    await second.close();
  });
});
