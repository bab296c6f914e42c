// Encryption at rest through the manager: what reaches the store is a compact JWE that jose can
// read, bound to the session id; whatever cannot be decrypted (or is not encrypted) reads as
// absent and is reported.
import { compactDecrypt } from "jose";
import { describe, expect, it } from "vitest";
import { DecryptionError, InvalidDataError, SessionManager } from "../src/index.ts";
import { memoryStore } from "../src/stores/memory.ts";
import type { SessionRecord } from "../src/stores/types.ts";
import { errorsOf } from "./helpers/events.ts";

const aesKey = () =>
  crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, true, ["encrypt", "decrypt"]);

describe("encryption at rest", () => {
  it("re-seals a rotated session under its new id, and the old ciphertext cannot pass for it", async () => {
    const store = memoryStore();
    const key = await aesKey();
    const sm = new SessionManager({ backend: store, encryption: { key } });
    const data = { user: "ada" };
    await sm.add("anon", { data });
    const old = store.get("anon") as SessionRecord;
    const moved = await sm.rotate("anon");
    expect(moved.data).toEqual(data);
    const raw = store.get(moved.id) as SessionRecord;
    expect(raw.encrypted).toBe(true);
    const { protectedHeader } = await compactDecrypt(raw.data as string, key);
    expect(protectedHeader.sid).toBe(moved.id);
    expect(store.get("anon")).toBeUndefined();
    const reopened = new SessionManager({ backend: store, encryption: { key } });
    expect(await reopened.get(moved.id)).toEqual(moved);
    // The old id's ciphertext copied under the new id is refused (bound to "anon").
    const errors = errorsOf(reopened);
    store.set({ ...raw, data: old.data, version: 2 });
    expect(await reopened.get(moved.id)).toBeUndefined();
    expect(errors.map((e) => e.name)).toEqual(["DecryptionError"]);
  });

  it("stores the data as a JWE jose can read, bound to the session id, and reads it back", async () => {
    const store = memoryStore();
    const key = await aesKey();
    const sm = new SessionManager({ backend: store, encryption: { key } });
    const data = { email: "ada@example.com", roles: ["admin"] };
    const added = await sm.add("user123", { data });
    expect(added.data).toEqual(data);
    const raw = store.get("user123") as SessionRecord;
    expect(raw.encrypted).toBe(true);
    expect(typeof raw.data).toBe("string");
    expect(JSON.stringify(raw)).not.toContain("ada@example.com");
    const { plaintext, protectedHeader } = await compactDecrypt(raw.data as string, key);
    expect(JSON.parse(new TextDecoder().decode(plaintext))).toEqual(data);
    expect(protectedHeader).toMatchObject({ alg: "dir", enc: "A256GCM", sid: "user123" });
    expect(await sm.get("user123")).toEqual(added);
    expect(await sm.list()).toEqual([added]);
  });

  it("keeps encrypting through touch and update", async () => {
    const store = memoryStore();
    const sm = new SessionManager<{ n: number }>({
      backend: store,
      encryption: { key: await aesKey() },
    });
    await sm.add("a", { data: { n: 1 } });
    await sm.touch("a");
    const updated = await sm.update("a", (old) => ({ n: old.n + 1 }));
    expect(updated).toMatchObject({ data: { n: 2 }, version: 3 });
    expect((store.get("a") as SessionRecord).encrypted).toBe(true);
    expect((await sm.get("a"))?.data).toEqual({ n: 2 });
  });

  it("a record moved to another id, edited, or under another key reads as absent, with DecryptionError", async () => {
    const store = memoryStore();
    const sm = new SessionManager({ backend: store, encryption: { key: await aesKey() } });
    const errors = errorsOf(sm);
    await sm.add("alice", { data: { secret: 1 } });
    await sm.add("bob", { data: { secret: 2 } });
    const alice = store.get("alice") as SessionRecord;
    store.set({ ...alice, id: "mallory" }); // moved to another id
    const bob = store.get("bob") as SessionRecord;
    const parts = (bob.data as string).split(".");
    const ciphertext = parts[3] as string;
    parts[3] = `${ciphertext[0] === "A" ? "B" : "A"}${ciphertext.slice(1)}`; // edited
    store.set({ ...bob, data: parts.join(".") });
    expect(await sm.get("mallory")).toBeUndefined();
    expect(await sm.get("bob")).toBeUndefined();
    expect(errors).toHaveLength(2);
    for (const error of errors) {
      expect(error).toBeInstanceOf(DecryptionError);
      expect(error.message).toBe("decryption operation failed");
    }
    const other = new SessionManager({ backend: store, encryption: { key: await aesKey() } });
    const otherErrors = errorsOf(other);
    expect(await other.get("alice")).toBeUndefined(); // another key
    expect(otherErrors[0]).toBeInstanceOf(DecryptionError);
    expect(await sm.get("alice")).toMatchObject({ data: { secret: 1 } }); // the original is fine
    expect(store.get("mallory")).toBeDefined(); // never deleted
  });

  it("rotates keys: the first encrypts, all decrypt", async () => {
    const store = memoryStore();
    const [k0, k1] = [await aesKey(), await aesKey()];
    const old = new SessionManager({ backend: store, encryption: { key: k0 } });
    await old.add("a", { data: "written under k0" });
    const rotated = new SessionManager({
      backend: store,
      encryption: {
        keys: [
          { id: "k1", key: k1 },
          { id: "k0", key: k0 },
        ],
      },
    });
    expect((await rotated.get("a"))?.data).toBe("written under k0");
    await rotated.add("b", { data: "written under k1" });
    const { protectedHeader } = await compactDecrypt(
      (store.get("b") as SessionRecord).data as string,
      k1,
    );
    expect(protectedHeader.kid).toBe("k1");
    expect(await old.get("b")).toBeUndefined(); // the old manager has no k1
  });

  it("a passphrase gives every manager of the namespace the same key, with one salt kept beside the records", async () => {
    const store = memoryStore();
    const one = new SessionManager({ backend: store, encryption: { passphrase: "correct horse" } });
    await one.add("a", { data: { n: 1 } });
    const two = new SessionManager({ backend: store, encryption: { passphrase: "correct horse" } });
    expect((await two.get("a"))?.data).toEqual({ n: 1 });
    expect((await two.list()).map((s) => s.id)).toEqual(["a"]); // the salt record is not a session
    const salts = (await store.list()).filter((r) => r.id.length > 256);
    expect(salts).toHaveLength(1);
    await two.clear();
    expect((await store.list()).filter((r) => r.id.length > 256)).toEqual(salts); // clear keeps the salt
    const wrong = new SessionManager({ backend: store, encryption: { passphrase: "wrong" } });
    await one.add("b");
    expect(await wrong.get("b")).toBeUndefined();
  }, 20_000);

  it("a manager without encryption does not hand out the ciphertext as data", async () => {
    const store = memoryStore();
    const sealed = new SessionManager({ backend: store, encryption: { key: await aesKey() } });
    await sealed.add("a", { data: "secret" });
    const plain = new SessionManager({ backend: store });
    const errors = errorsOf(plain);
    expect(await plain.get("a")).toBeUndefined();
    expect(await plain.list()).toEqual([]);
    expect(errors[0]).toBeInstanceOf(DecryptionError);
  });

  it("a record this manager cannot open counts as absent: add replaces it, touch and remove do not touch it", async () => {
    const store = memoryStore();
    const old = new SessionManager({ backend: store, encryption: { key: await aesKey() } });
    await old.add("a", { data: "old key" });
    await old.add("b", { data: "old key" });
    // Another key (the key was lost and replaced), and no encryption at all.
    for (const sm of [
      new SessionManager({ backend: store, encryption: { key: await aesKey() } }),
      new SessionManager({ backend: store }),
    ]) {
      const errors = errorsOf(sm);
      const before = store.get("b") as SessionRecord;
      await expect(sm.touch("b")).rejects.toMatchObject({ code: "SESSION_NOT_FOUND" });
      expect(await sm.remove("b")).toBe(false);
      expect(store.get("b")).toBe(before);
      const added = await sm.add("a", { data: "new" });
      expect(added).toMatchObject({ id: "a", data: "new", version: 1 });
      expect(await sm.get("a")).toEqual(added);
      expect(errors.length).toBeGreaterThan(0);
      for (const error of errors) expect(error).toBeInstanceOf(DecryptionError);
      await sm.remove("a");
    }
  });

  it("bad encryption options make calls reject with a typed error, and ready still resolves", async () => {
    const hmac = await crypto.subtle.generateKey({ name: "HMAC", hash: "SHA-256" }, false, [
      "sign",
    ]);
    const sm = new SessionManager({ encryption: { key: hmac } });
    const errors = errorsOf(sm);
    await sm.ready;
    expect(errors[0]).toBeInstanceOf(InvalidDataError);
    await expect(sm.add("a")).rejects.toBeInstanceOf(InvalidDataError);
    await expect(sm.get("a")).rejects.toBeInstanceOf(InvalidDataError);
  });

  it("records written before encryption was turned on are refused, unless allowPlaintext: true", async () => {
    const store = memoryStore();
    const before = new SessionManager({ backend: store });
    await before.add("a", { data: "plain" });
    const key = await aesKey();
    const after = new SessionManager({ backend: store, encryption: { key } });
    const errors = errorsOf(after);
    expect(await after.get("a")).toBeUndefined();
    expect(errors[0]).toBeInstanceOf(DecryptionError);
    const migrating = new SessionManager({
      backend: store,
      encryption: { key, allowPlaintext: true },
    });
    expect((await migrating.get("a"))?.data).toBe("plain");
    await migrating.touch("a");
    expect((store.get("a") as SessionRecord).encrypted).toBe(true);
    expect((await after.get("a"))?.data).toBe("plain");
  });
});
