// Encryption at rest on Chromium's IndexedDB, with a key that is itself kept in IndexedDB
// (`encryption: true`): what the database holds has no plaintext, and a new manager on the page
// (a reload) finds the same key and reads the sessions. Plaintext put in place of a sealed
// record, in IndexedDB or localStorage, is refused unless the options say allowPlaintext.
import { describe, expect, it } from "vitest";
import { scope } from "../src/constants.ts";
import { DecryptionError, SessionManager } from "../src/index.ts";

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

/** What whoever can write the store does: the sealed record's data replaced, `encrypted` dropped. */
function unseal(stored: Record<string, unknown>): Record<string, unknown> {
  if (stored.encrypted !== true) throw new Error("the stored record is not sealed");
  const { encrypted: _, ...rest } = stored;
  return { ...rest, data: { user: "mallory", roles: ["admin"] } };
}

/** Edits the record `id` in the `sessions` object store of `database` with `edit`. */
async function editIndexedDB(
  database: string,
  id: string,
  edit: (stored: Record<string, unknown>) => Record<string, unknown>,
): Promise<void> {
  const db = await new Promise<IDBDatabase>((resolve, reject) => {
    const request = indexedDB.open(database);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  await new Promise<void>((resolve, reject) => {
    const transaction = db.transaction("sessions", "readwrite");
    const sessions = transaction.objectStore("sessions");
    const read = sessions.get(id);
    read.onsuccess = () => sessions.put(edit(read.result));
    transaction.oncomplete = () => resolve();
    transaction.onabort = () => reject(transaction.error);
  });
  db.close();
}

/** Edits the record `id` of `namespace` in localStorage with `edit`. */
function editLocalStorage(
  namespace: string,
  id: string,
  edit: (stored: Record<string, unknown>) => Record<string, unknown>,
): void {
  const keys = Array.from({ length: localStorage.length }, (_, i) => localStorage.key(i) ?? "");
  const key = keys.find((k) => k.startsWith(scope(namespace)) && k.endsWith(`:${id}`));
  if (!key) throw new Error(`no localStorage key for ${id}`);
  localStorage.setItem(key, JSON.stringify(edit(JSON.parse(localStorage.getItem(key) ?? ""))));
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

  it("IndexedDB: plaintext planted in place of a sealed record is refused (encryption: true never reads plaintext)", async () => {
    const namespace = `${run}-planted`;
    const first = new SessionManager({ backend: "indexedDB", namespace, encryption: true });
    await first.add("user123", { data: { user: "ada" } });
    await first.add("other", { data: { user: "bob" } });
    await first.close();
    await editIndexedDB(scope(namespace), "user123", unseal);

    const second = new SessionManager({ backend: "indexedDB", namespace, encryption: true });
    const errors: Error[] = [];
    second.on("error", (error) => errors.push(error));
    expect(await second.get("user123")).toBeUndefined();
    expect((await second.list()).map((s) => s.id)).toEqual(["other"]);
    expect(errors.length).toBeGreaterThan(0);
    for (const error of errors) expect(error).toBeInstanceOf(DecryptionError);
    // Absent, so add takes the id, sealed.
    await second.add("user123", { data: { user: "ada again" } });
    expect((await second.get("user123"))?.data).toEqual({ user: "ada again" });
    expect(await rawDump(scope(namespace))).not.toContain("ada again");
    await second.clear();
    await second.close();
  });

  it("localStorage with a passphrase: planted plaintext is refused, the salt still works, allowPlaintext reads and seals it", async () => {
    const namespace = `${run}-planted-ls`;
    const passphrase = "correct horse battery staple";
    const first = new SessionManager({
      backend: "localStorage",
      namespace,
      encryption: { passphrase },
    });
    await first.add("user123", { data: { user: "ada" } });
    await first.add("other", { data: { user: "bob" } });
    await first.close();
    editLocalStorage(namespace, "user123", unseal);

    const strict = new SessionManager({
      backend: "localStorage",
      namespace,
      encryption: { passphrase },
    });
    const errors: Error[] = [];
    strict.on("error", (error) => errors.push(error));
    expect(await strict.get("user123")).toBeUndefined();
    expect((await strict.get("other"))?.data).toEqual({ user: "bob" }); // same salt, same key
    expect(errors[0]).toBeInstanceOf(DecryptionError);
    await strict.close();

    const migrating = new SessionManager({
      backend: "localStorage",
      namespace,
      encryption: { passphrase, allowPlaintext: true },
    });
    expect((await migrating.get("user123"))?.data).toEqual({ user: "mallory", roles: ["admin"] });
    await migrating.touch("user123");
    const keys = Array.from({ length: localStorage.length }, (_, i) => localStorage.key(i) ?? "");
    const stored = keys
      .filter((k) => k.startsWith(scope(namespace)))
      .map((k) => localStorage.getItem(k) ?? "");
    expect(stored.join("\n")).not.toContain("mallory");
    await migrating.clear();
    await migrating.close();
  }, 30_000);
});
