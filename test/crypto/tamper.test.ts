// Encryption at rest against whoever can write the store: a record put there without encryption
// (plaintext planted in place of a sealed one) is refused like a tampered one, in a local store
// and when it comes from a sync server, unless the options say `allowPlaintext: true`.
import { compactDecrypt } from "jose";
import { afterEach, describe, expect, it } from "vitest";
import {
  ConflictError,
  DecryptionError,
  type EncryptionOptions,
  InvalidDataError,
  SessionManager,
} from "../../src/index.ts";
import { memoryStore } from "../../src/stores/memory.ts";
import type { SessionRecord, SessionStore } from "../../src/stores/types.ts";
import { replicaStore } from "../../src/sync/replica.ts";
import { errorsOf } from "../helpers/events.ts";
import {
  IN_PROCESS_URL,
  inProcessServer,
  Network,
  tokenFor,
  until,
} from "../helpers/sync-server.ts";

const aesKey = () =>
  crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, true, ["encrypt", "decrypt"]);

const FORGED = { user: "mallory", roles: ["admin"] };

/** The sealed record under `id` made plaintext: data replaced, `encrypted` dropped. */
function plant(store: SessionStore, id: string, data: unknown = FORGED): Promise<boolean> {
  return Promise.resolve(store.get(id)).then((sealed) => {
    if (!sealed?.encrypted) throw new Error(`no sealed record under ${id}`);
    const { encrypted: _, ...rest } = sealed;
    return store.set(Object.freeze({ ...rest, data }));
  });
}

const closing: { close(): unknown }[] = [];
afterEach(async () => {
  for (const c of closing.splice(0).reverse()) await c.close();
});

function manager<Data = unknown>(
  options: ConstructorParameters<typeof SessionManager<Data>>[0],
): SessionManager<Data> {
  const sm = new SessionManager<Data>(options);
  closing.push(sm);
  return sm;
}

describe("plaintext under encryption", () => {
  const forms: [string, () => Promise<EncryptionOptions>][] = [
    ["{ key }", async () => ({ key: await aesKey() })],
    ["{ keys }", async () => ({ keys: [{ id: "k1", key: await aesKey() }] })],
    ["{ passphrase }", async () => ({ passphrase: "correct horse battery" })],
  ];

  for (const [form, options] of forms) {
    it(`${form}: a planted plaintext record reads as absent, with DecryptionError, and add replaces it`, async () => {
      const store = memoryStore();
      const encryption = await options();
      const sm = manager({ backend: store, encryption });
      const errors = errorsOf(sm);
      await sm.add("a", { data: { user: "ada" } });
      await sm.add("b", { data: { user: "bob" } });
      await plant(store, "a");
      const planted = store.get("a");

      expect(await sm.get("a")).toBeUndefined();
      expect(await sm.has("a")).toBe(false);
      expect((await sm.list()).map((s) => s.id)).toEqual(["b"]);
      await expect(sm.touch("a")).rejects.toMatchObject({ code: "SESSION_NOT_FOUND" });
      await expect(sm.update("a", { user: "x" })).rejects.toMatchObject({
        code: "SESSION_NOT_FOUND",
      });
      expect(await sm.remove("a")).toBe(false);
      expect(store.get("a")).toBe(planted); // refused, never written over by touch or remove
      expect(errors.length).toBeGreaterThan(0);
      for (const error of errors) {
        expect(error).toBeInstanceOf(DecryptionError);
        expect(error.message).toBe("decryption operation failed");
      }
      expect(JSON.stringify(errors.map((e) => [e, e.cause]))).not.toContain("mallory");

      // Absent, so a create takes the id, sealed.
      const added = await sm.add("a", { data: { user: "ada again" } });
      expect(added).toMatchObject({ version: 1, data: { user: "ada again" } });
      expect((store.get("a") as SessionRecord).encrypted).toBe(true);

      // Another manager with the same options (for a passphrase: the same salt, still stored).
      const again = manager({ backend: store, encryption });
      expect((await again.list()).map((s) => s.data)).toEqual([
        { user: "ada again" },
        { user: "bob" },
      ]);
    }, 20_000);
  }

  it("a planted record never reaches listeners loaded at start", async () => {
    const store = memoryStore();
    const encryption = { key: await aesKey() };
    const first = manager({ backend: store, encryption });
    await first.add("a", { data: "genuine" });
    await plant(store, "a");
    const loaded: unknown[] = [];
    const second = manager({ backend: store, encryption });
    const errors = errorsOf(second);
    second.onExpiringSoon((s) => loaded.push(s));
    await second.ready;
    expect(await second.list()).toEqual([]);
    expect(errors[0]).toBeInstanceOf(DecryptionError);
    expect(loaded).toEqual([]);
  });

  it("allowPlaintext: true reads records stored without encryption, and seals each when next written", async () => {
    const store = memoryStore();
    const before = manager({ backend: store });
    await before.add("a", { data: "written before encryption" });
    await before.add("b", { data: "also before" });
    const key = await aesKey();
    const migrating = manager({ backend: store, encryption: { key, allowPlaintext: true } });
    const errors = errorsOf(migrating);
    expect((await migrating.get("a"))?.data).toBe("written before encryption");
    expect(await migrating.list()).toHaveLength(2);
    await migrating.add("c", { data: "sealed from the start" });
    expect((store.get("c") as SessionRecord).encrypted).toBe(true);
    await migrating.touch("a");
    const sealed = store.get("a") as SessionRecord;
    expect(sealed.encrypted).toBe(true);
    const { plaintext } = await compactDecrypt(sealed.data as string, key);
    expect(JSON.parse(new TextDecoder().decode(plaintext))).toBe("written before encryption");
    expect(errors).toEqual([]);

    // Once migrated, the option can go: sealed records read, the one never written is refused.
    const strict = manager({ backend: store, encryption: { key } });
    const strictErrors = errorsOf(strict);
    expect((await strict.get("a"))?.data).toBe("written before encryption");
    expect((await strict.get("c"))?.data).toBe("sealed from the start");
    expect(await strict.get("b")).toBeUndefined();
    expect(strictErrors[0]).toBeInstanceOf(DecryptionError);
  });

  it("allowPlaintext must be a boolean: InvalidDataError saying what was given", async () => {
    const sm = manager({
      encryption: { key: await aesKey(), allowPlaintext: "yes" as unknown as boolean },
    });
    const errors = errorsOf(sm);
    await sm.ready;
    expect(errors[0]).toBeInstanceOf(InvalidDataError);
    expect(errors[0]?.message).toBe("encryption.allowPlaintext must be a boolean, got string");
    await expect(sm.add("a")).rejects.toBeInstanceOf(InvalidDataError);
  });

  it("binds the id and the key id into the protected header, and none of the times the server sets", async () => {
    // createdAt, updatedAt, expiresAt, ttl and version are set or moved by a sync server that has
    // no key (and converted between clocks on the way), so binding them would refuse every
    // session that went through one. What remains open to a store's writer is in SECURITY.md.
    const store = memoryStore();
    const key = await aesKey();
    const sm = manager({ backend: store, encryption: { key } });
    await sm.add("a", { data: 1 });
    const { protectedHeader } = await compactDecrypt(
      (store.get("a") as SessionRecord).data as string,
      key,
    );
    expect(Object.keys(protectedHeader).sort()).toEqual(["alg", "enc", "kid", "sid"]);
  });
});

describe("plaintext planted on a sync server", () => {
  /** A server in process, and clients of one owner with one key, each on its own network. */
  async function setup(sub: string) {
    const { server, fetch, store } = inProcessServer();
    closing.push(server);
    const token = await tokenFor(sub);
    const key = await aesKey();
    /** `backend: "remote"`, or a replica over `local`. */
    const client = (local?: SessionStore) => {
      const network = new Network(fetch);
      const remote = { url: IN_PROCESS_URL, token, fetch: network.fetch };
      const replica = local && replicaStore(local, remote);
      const sm = manager<unknown>(
        replica
          ? { backend: replica, encryption: { key }, warnBefore: 0 }
          : { backend: "remote", remote, encryption: { key } },
      );
      return { sm, errors: errorsOf(sm), network, replica };
    };
    return { store, client };
  }

  it("backend remote: a plaintext record on the server reads as absent, and add replaces it sealed", async () => {
    const { store, client } = await setup("tamper-remote");
    const writer = client();
    await writer.sm.add("s", { data: { user: "ada" } });
    await writer.sm.add("t", { data: { user: "tom" } });
    await plant(store, "tamper-remote/s");

    const { sm, errors } = client(); // nothing cached: reads what the server holds
    expect(await sm.get("s")).toBeUndefined();
    expect((await sm.list()).map((s) => s.id)).toEqual(["t"]);
    expect(errors.length).toBeGreaterThan(0);
    for (const error of errors) expect(error).toBeInstanceOf(DecryptionError);
    expect(await sm.add("s", { data: { user: "ada again" } })).toMatchObject({ version: 1 });
    const stored = await store.get("tamper-remote/s");
    expect(stored?.encrypted).toBe(true);
    expect(JSON.stringify(stored)).not.toContain("ada again");
    expect(writer.errors).toEqual([]);
  });

  it("replica: a pulled plaintext record reads as absent and is never heard, even when it wins a conflict", async () => {
    const { store, client } = await setup("tamper-replica");
    const writer = client();
    await writer.sm.add("s", { data: { user: "ada" } });
    await writer.sm.add("t", { data: { user: "tom" } });
    await plant(store, "tamper-replica/s");

    const local = memoryStore();
    const { sm, errors, replica } = client(local); // pulls when it opens
    const heard: unknown[] = [];
    for (const event of ["added", "updated", "touched", "removed"] as const) {
      sm.on(event, (s: unknown) => heard.push(s));
    }
    await until(async () => (await local.get("s")) !== undefined);
    expect(await sm.get("s")).toBeUndefined();
    expect((await sm.list()).map((s) => s.id)).toEqual(["t"]);
    expect(errors.length).toBeGreaterThan(0);
    for (const error of errors) expect(error).toBeInstanceOf(DecryptionError);

    // Locally absent, so add takes the id; the server's live copy then wins (a replica sends a
    // new session as a create), and the loser hears of it without the planted data.
    await sm.add("s", { data: { user: "ada again" } });
    await replica?.sync();
    await until(() => errors.some((e) => e instanceof ConflictError));
    const conflict = errors.find((e) => e instanceof ConflictError) as ConflictError;
    expect(conflict.local).toMatchObject({ data: { user: "ada again" } });
    expect(conflict.server).toBeUndefined();
    expect(await sm.get("s")).toBeUndefined();
    expect(JSON.stringify([heard, errors.map((e) => [e, e.cause])])).not.toContain("mallory");
  });

  it("replica: a plaintext server copy that wins a conflict is not handed to listeners", async () => {
    const { store, client } = await setup("tamper-conflict");
    const writer = client();
    await writer.sm.add("s", { data: { user: "ada" } });
    await plant(store, "tamper-conflict/s");
    // A replica that adds "s" offline, then meets the planted copy on the server.
    const { sm, errors, network, replica } = client(memoryStore());
    network.online = false;
    await sm.add("s", { data: { user: "offline" } });
    network.online = true;
    await replica?.sync();
    await until(() => errors.some((e) => e instanceof ConflictError));
    const conflict = errors.find((e) => e instanceof ConflictError) as ConflictError;
    expect(conflict.local).toMatchObject({ data: { user: "offline" } });
    expect(conflict.server).toBeUndefined(); // refused, reported beside it
    expect(errors.some((e) => e instanceof DecryptionError)).toBe(true);
    expect(JSON.stringify(errors.map((e) => [e, e.cause]))).not.toContain("mallory");
    expect(await sm.get("s")).toBeUndefined();
  });
});
