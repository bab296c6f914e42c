import { IDBFactory } from "fake-indexeddb";
import { compactDecrypt, decodeProtectedHeader } from "jose";
import { afterEach, describe, expect, it, vi } from "vitest";
import { decryptData, encryptData } from "../../src/crypto/jwe.ts";
import {
  DEVICE_KEY_ID,
  type EncryptionOptions,
  KEY_ID,
  type KeyContext,
  PASSPHRASE_ITERATIONS,
  PASSPHRASE_KEY_ID,
  resolveKeys,
  type SaltStore,
} from "../../src/crypto/keys.ts";
import { BackendError, DecryptionError, InvalidDataError } from "../../src/errors.ts";

const data = { user: "ada" };

function aesKey(
  usages: KeyUsage[] = ["encrypt", "decrypt"],
  length = 256,
  name = "AES-GCM",
): Promise<CryptoKey> {
  return crypto.subtle.generateKey({ name, length }, false, usages) as Promise<CryptoKey>;
}

/** A salt store that, like the manager's, never replaces a stored salt. */
function memorySalt(initial?: Uint8Array): SaltStore & { saved: Uint8Array[] } {
  let stored = initial;
  const saved: Uint8Array[] = [];
  return {
    saved,
    load: vi.fn(async () => stored),
    save: vi.fn(async (salt: Uint8Array) => {
      saved.push(salt);
      stored ??= salt;
    }),
  };
}

function context(overrides: Partial<KeyContext> = {}): KeyContext {
  return { namespace: "app", salt: memorySalt(), ...overrides };
}

async function invalid(promise: Promise<unknown>, message: RegExp): Promise<void> {
  const error = await promise.then(
    () => expect.fail("expected a rejection"),
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(InvalidDataError);
  expect((error as Error).message).toMatch(message);
}

/** True if what `writer` encrypts, `reader` decrypts. */
async function compatible(writer: CryptoKey, reader: CryptoKey): Promise<boolean> {
  const jwe = await encryptData(data, "s", { id: "x", key: writer });
  return decryptData(jwe, "s", [{ id: "x", key: reader }]).then(
    () => true,
    (error: unknown) => {
      expect(error).toBeInstanceOf(DecryptionError);
      return false;
    },
  );
}

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllGlobals();
});

describe("resolveKeys({ key })", () => {
  it("uses the key under the fixed id k0, stable across calls", async () => {
    const key = await aesKey();
    const first = await resolveKeys({ key }, context());
    expect(first).toEqual([{ id: KEY_ID, key }]);
    expect(await resolveKeys({ key }, context())).toEqual(first);
    const jwe = await encryptData(data, "s", first[0] as (typeof first)[0]);
    expect(decodeProtectedHeader(jwe)).toMatchObject({ kid: "k0", sid: "s" });
    expect(
      JSON.parse(new TextDecoder().decode((await compactDecrypt(jwe, key)).plaintext)),
    ).toEqual(data);
  });

  it("refuses anything but an AES-GCM 256-bit key that encrypts and decrypts", async () => {
    const hmac = await crypto.subtle.generateKey({ name: "HMAC", hash: "SHA-256" }, false, [
      "sign",
    ]);
    const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, [
      "sign",
    ]);
    await invalid(resolveKeys({ key: hmac }, context()), /AES-GCM 256-bit CryptoKey, got HMAC/);
    await invalid(
      resolveKeys({ key: await aesKey(undefined, 128) }, context()),
      /got AES-GCM 128-bit/,
    );
    const cbc = await aesKey(["encrypt", "decrypt"], 256, "AES-CBC");
    await invalid(resolveKeys({ key: cbc }, context()), /got AES-CBC 256-bit/);
    await invalid(
      resolveKeys({ key: await aesKey(["decrypt"]) }, context()),
      /allow encrypt and decrypt, got usages \[decrypt\]/,
    );
    await invalid(resolveKeys({ key: pair.privateKey }, context()), /got ECDSA/);
    await invalid(resolveKeys({ key: pair as never }, context()), /got an object/);
    await invalid(resolveKeys({ key: new Uint8Array(32) as never }, context()), /got a Uint8Array/);
    await invalid(resolveKeys({ key: "secret" as never }, context()), /got string/);
  });
});

describe("resolveKeys({ keys })", () => {
  it("keeps the order: the first encrypts, all decrypt (rotation)", async () => {
    const a = await aesKey();
    const b = await aesKey();
    const old = await encryptData(data, "s", { id: "a", key: a });
    const keys = await resolveKeys(
      {
        keys: [
          { id: "b", key: b },
          { id: "a", key: a },
        ],
      },
      context(),
    );
    expect(keys.map((entry) => entry.id)).toEqual(["b", "a"]);
    const fresh = await encryptData(data, "s", keys[0] as (typeof keys)[0]);
    expect(decodeProtectedHeader(fresh).kid).toBe("b");
    await compactDecrypt(fresh, b);
    await expect(compactDecrypt(fresh, a)).rejects.toThrow();
    expect(await decryptData(old, "s", keys)).toEqual(data);
    expect(await decryptData(fresh, "s", keys)).toEqual(data);
  });

  it("accepts a decrypt-only key after the first, for records of a retired key", async () => {
    const keys = [
      { id: "new", key: await aesKey() },
      { id: "old", key: await aesKey(["decrypt"]) },
    ];
    expect(await resolveKeys({ keys }, context())).toEqual(keys);
    await invalid(
      resolveKeys({ keys: [...keys].reverse() }, context()),
      /keys\[0\]\.key must allow encrypt and decrypt/,
    );
  });

  it("refuses empty lists, bad or duplicate ids and bad keys", async () => {
    const key = await aesKey();
    const hmac = await crypto.subtle.generateKey({ name: "HMAC", hash: "SHA-256" }, false, [
      "sign",
    ]);
    const cases: [unknown, RegExp][] = [
      [[], /non-empty array of \{ id, key \}, got an empty array/],
      ["k", /non-empty array of \{ id, key \}, got string/],
      [[null], /keys\[0\] must be \{ id, key \}, got null/],
      [[{ id: "", key }], /keys\[0\]\.id must be a non-empty string, got an empty string/],
      [[{ id: 1, key }], /keys\[0\]\.id must be a non-empty string, got number/],
      [[{ key }], /keys\[0\]\.id must be a non-empty string, got undefined/],
      [
        [
          { id: "a", key },
          { id: "a", key },
        ],
        /keys\[1\]\.id "a" is a duplicate/,
      ],
      [
        [
          { id: "a", key },
          { id: "b", key: hmac },
        ],
        /keys\[1\]\.key must be an AES-GCM 256-bit/,
      ],
    ];
    for (const [keys, message] of cases) {
      await invalid(resolveKeys({ keys } as EncryptionOptions, context()), message);
    }
  });
});

describe("resolveKeys({ passphrase })", () => {
  it("derives with PBKDF2-SHA256, 600,000 iterations, over a 16-byte salt made and saved once", async () => {
    expect(PASSPHRASE_ITERATIONS).toBe(600_000);
    const salt = memorySalt();
    const deriveBits = vi.spyOn(crypto.subtle, "deriveBits");
    const [first] = await resolveKeys({ passphrase: "correct horse" }, context({ salt }));
    expect(first?.id).toBe(PASSPHRASE_KEY_ID);
    expect(first?.key.extractable).toBe(false);
    expect(first?.key.algorithm).toEqual({ name: "AES-GCM", length: 256 });
    expect(salt.save).toHaveBeenCalledTimes(1);
    expect(salt.saved[0]).toHaveLength(16);
    expect(deriveBits).toHaveBeenCalledTimes(1);
    expect(deriveBits.mock.calls[0]?.[0]).toMatchObject({
      name: "PBKDF2",
      hash: "SHA-256",
      iterations: 600_000,
      salt: salt.saved[0],
    });
    expect(deriveBits.mock.calls[0]?.[2]).toBe(256);

    // A reload: same passphrase, same stored salt, same key; nothing saved again.
    const [again] = await resolveKeys({ passphrase: "correct horse" }, context({ salt }));
    expect(salt.save).toHaveBeenCalledTimes(1);
    expect(await compatible(first?.key as CryptoKey, again?.key as CryptoKey)).toBe(true);

    const [wrong] = await resolveKeys({ passphrase: "correct horsE" }, context({ salt }));
    expect(await compatible(first?.key as CryptoKey, wrong?.key as CryptoKey)).toBe(false);
  });

  it("gives another key for another salt, and takes the stored salt when two tabs race", async () => {
    const salt = memorySalt();
    const [a, b] = await Promise.all([
      resolveKeys({ passphrase: "pw" }, context({ salt })),
      resolveKeys({ passphrase: "pw" }, context({ salt })),
    ]);
    // Both found no salt and saved one; the store kept the first, and both use it.
    expect(salt.saved).toHaveLength(2);
    expect(await compatible(a[0]?.key as CryptoKey, b[0]?.key as CryptoKey)).toBe(true);
    const [other] = await resolveKeys({ passphrase: "pw" }, context({ salt: memorySalt() }));
    expect(await compatible(a[0]?.key as CryptoKey, other?.key as CryptoKey)).toBe(false);
  });

  it("refuses an empty or non-string passphrase, and a corrupt stored salt", async () => {
    await invalid(
      resolveKeys({ passphrase: "" }, context()),
      /non-empty string, got an empty string/,
    );
    await invalid(resolveKeys({ passphrase: 42 as never }, context()), /got number/);
    const salt = memorySalt(new Uint8Array(3));
    await invalid(
      resolveKeys({ passphrase: "pw" }, context({ salt })),
      /16 to 64 bytes, got 3 bytes/,
    );
    // A bad salt is reported, never replaced: that would orphan every stored record.
    expect(salt.save).not.toHaveBeenCalled();
  });

  it("passes on a failure of the salt store", async () => {
    const failure = new Error("store down");
    const salt = { load: () => Promise.reject(failure), save: () => Promise.resolve() };
    await expect(resolveKeys({ passphrase: "pw" }, context({ salt }))).rejects.toBe(failure);
  });
});

describe("resolveKeys(true)", () => {
  it("generates a non-extractable key once per namespace and finds it again", async () => {
    const indexedDB = new IDBFactory();
    const generate = vi.spyOn(crypto.subtle, "generateKey");
    const [first] = await resolveKeys(true, context({ indexedDB }));
    expect(first?.id).toBe(DEVICE_KEY_ID);
    expect(first?.key.extractable).toBe(false);
    expect(first?.key.algorithm).toEqual({ name: "AES-GCM", length: 256 });
    expect(first?.key.usages.sort()).toEqual(["decrypt", "encrypt"]);
    const [again] = await resolveKeys(true, context({ indexedDB }));
    expect(generate).toHaveBeenCalledTimes(1);
    expect(await compatible(first?.key as CryptoKey, again?.key as CryptoKey)).toBe(true);

    const [other] = await resolveKeys(true, context({ indexedDB, namespace: "other" }));
    expect(generate).toHaveBeenCalledTimes(2);
    expect(await compatible(first?.key as CryptoKey, other?.key as CryptoKey)).toBe(false);
    const names = (await indexedDB.databases()).map((db) => db.name);
    expect(names).toEqual(["sessionmanager-keys"]);
  });

  it("agrees on one key when two tabs start at once", async () => {
    const indexedDB = new IDBFactory();
    const [a, b] = await Promise.all([
      resolveKeys(true, context({ indexedDB })),
      resolveKeys(true, context({ indexedDB })),
    ]);
    expect(await compatible(a[0]?.key as CryptoKey, b[0]?.key as CryptoKey)).toBe(true);
  });

  it("uses globalThis.indexedDB by default, and says so when there is none", async () => {
    vi.stubGlobal("indexedDB", new IDBFactory());
    const [first] = await resolveKeys(true, context());
    const [again] = await resolveKeys(true, context({ indexedDB: globalThis.indexedDB }));
    expect(await compatible(first?.key as CryptoKey, again?.key as CryptoKey)).toBe(true);
    vi.stubGlobal("indexedDB", undefined);
    await invalid(resolveKeys(true, context()), /IndexedDB, which this runtime lacks/);
  });

  it("rejects with BackendError when IndexedDB fails, and never overwrites a foreign value", async () => {
    const broken = {
      open: () => {
        throw new DOMException("denied", "SecurityError");
      },
    } as unknown as IDBFactory;
    const error = await resolveKeys(true, context({ indexedDB: broken })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendError);
    expect((error as BackendError).cause).toBeInstanceOf(DOMException);

    const indexedDB = new IDBFactory();
    await resolveKeys(true, context({ indexedDB, namespace: "setup" }));
    const db = await new Promise<IDBDatabase>((resolve) => {
      const open = indexedDB.open("sessionmanager-keys");
      open.onsuccess = () => resolve(open.result);
    });
    await new Promise((resolve) => {
      const transaction = db.transaction("keys", "readwrite");
      transaction.objectStore("keys").put("not a key", "app");
      transaction.oncomplete = resolve;
    });
    db.close();
    await invalid(resolveKeys(true, context({ indexedDB })), /stored in IndexedDB .* got string/);
  });
});

describe("resolveKeys option checks", () => {
  it("refuses what is not one of the four forms", async () => {
    const key = await aesKey();
    const cases: [unknown, RegExp][] = [
      [null, /must be true, \{ key \}, \{ keys \} or \{ passphrase \}, got null/],
      [false, /got boolean/],
      ["secret", /got string/],
      [[key], /got an array/],
      [{}, /exactly one\), got none of them/],
      [{ key, passphrase: "pw" }, /exactly one\), got key and passphrase/],
    ];
    for (const [option, message] of cases) {
      await invalid(resolveKeys(option as EncryptionOptions, context()), message);
    }
  });

  it("types the option as one of the four forms", () => {
    const check = (_option: EncryptionOptions) => undefined;
    check(true);
    check({ passphrase: "pw" });
    // @ts-expect-error: false is "no encryption", which the manager handles before resolveKeys
    check(false);
    // @ts-expect-error: one form at a time
    check({ passphrase: "pw", keys: [] });
  });

  it("touches no crypto or IndexedDB global on import", async () => {
    vi.resetModules();
    vi.stubGlobal("crypto", undefined);
    vi.stubGlobal("indexedDB", undefined);
    vi.stubGlobal("TextEncoder", undefined);
    vi.stubGlobal("TextDecoder", undefined);
    const keys = await import("../../src/crypto/keys.ts");
    const jwe = await import("../../src/crypto/jwe.ts");
    expect(typeof keys.resolveKeys).toBe("function");
    expect(typeof jwe.encryptData).toBe("function");
  });
});
