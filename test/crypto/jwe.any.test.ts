import fc from "fast-check";
import { CompactEncrypt, compactDecrypt } from "jose";
import { afterEach, describe, expect, it, vi } from "vitest";
import { decryptData, type EncryptionKey, encryptData } from "../../src/crypto/jwe.ts";
import { DecryptionError, InvalidDataError, isSessionError } from "../../src/errors.ts";

const data = {
  user: "ada",
  roles: ["admin"],
  note: "naïve café ☕ 𝄞",
  n: 1.5,
  ok: true,
  nil: null,
};

function aesKey(): Promise<CryptoKey> {
  return crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]);
}

// Base64url and byte helpers that run in Node and in the browser (the chromium project), built on
// Buffer or on btoa/atob, never on Uint8Array.prototype.toBase64 / Uint8Array.fromBase64, which
// the code under test uses where present. Both decoders are lenient: they ignore unused trailing
// bits, so a non-canonical spelling reads as the canonical one's bytes.
const NodeBuffer = (globalThis as { Buffer?: typeof Buffer }).Buffer;
const utf8 = (text: string) => new TextEncoder().encode(text);
const fromUtf8 = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
function b64u(input: Uint8Array | string): string {
  const bytes = typeof input === "string" ? utf8(input) : input;
  if (NodeBuffer) return NodeBuffer.from(bytes).toString("base64url");
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
function unb64u(text: string): Uint8Array {
  if (NodeBuffer) return new Uint8Array(NodeBuffer.from(text, "base64url"));
  const base64 = text.replace(/-/g, "+").replace(/_/g, "/");
  const binary = atob(base64 + "=".repeat((4 - (base64.length % 4)) % 4));
  return Uint8Array.from(binary, (char) => char.charCodeAt(0));
}
/** Whether two byte arrays hold the same bytes. */
function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}
/** Whether `needle` occurs as a contiguous run of bytes in `haystack`. */
function includesBytes(haystack: Uint8Array, needle: Uint8Array): boolean {
  for (let start = 0; start + needle.length <= haystack.length; start++) {
    if (bytesEqual(haystack.subarray(start, start + needle.length), needle)) return true;
  }
  return false;
}

/** A compact JWE written by jose, with the given protected header and plaintext bytes. */
function joseEncrypt(
  key: CryptoKey,
  header: Record<string, unknown>,
  plaintext: Uint8Array = utf8(JSON.stringify(data)),
): Promise<string> {
  return new CompactEncrypt(plaintext)
    .setProtectedHeader({ alg: "dir", enc: "A256GCM", ...header })
    .encrypt(key);
}

/** A compact JWE made by hand with WebCrypto (RFC 7516 §5.1), whatever the header says. */
async function handMade(key: CryptoKey, header: string, plaintext: string): Promise<string> {
  const encoded = b64u(header);
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const sealed = new Uint8Array(
    await crypto.subtle.encrypt(
      { name: "AES-GCM", iv, additionalData: utf8(encoded) },
      key,
      utf8(plaintext),
    ),
  );
  return `${encoded}..${b64u(iv)}.${b64u(sealed.subarray(0, -16))}.${b64u(sealed.subarray(-16))}`;
}

/** Expects the generic DecryptionError, whatever went wrong. */
async function failure(promise: Promise<unknown>): Promise<DecryptionError> {
  const error = await promise.then(
    () => expect.fail("expected a rejection"),
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(DecryptionError);
  expect(isSessionError(error) && error.code).toBe("DECRYPTION_FAILED");
  expect((error as Error).message).toBe("decryption operation failed");
  return error as DecryptionError;
}

/** Replaces part `index` (0 to 4) of a compact JWE. */
function withPart(jwe: string, index: number, edit: (part: string) => string): string {
  const parts = jwe.split(".");
  parts[index] = edit(parts[index] ?? "");
  return parts.join(".");
}

/** Flips one bit of the byte at `at` of a base64url part, re-encoded canonically. */
function flipByte(part: string, at: number): string {
  const bytes = unb64u(part);
  bytes[at] = (bytes[at] as number) ^ 1;
  return b64u(bytes);
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("encryptData", () => {
  it("writes a compact dir/A256GCM JWE that jose's compactDecrypt reads", async () => {
    const key = await aesKey();
    const jwe = await encryptData(data, "user123", { id: "k1", key });
    const [header = "", encryptedKey, iv = "", ciphertext = "", tag = ""] = jwe.split(".");
    expect(jwe.split(".")).toHaveLength(5);
    expect(encryptedKey).toBe("");
    expect(unb64u(iv)).toHaveLength(12);
    expect(unb64u(tag)).toHaveLength(16);
    expect(unb64u(ciphertext)).toHaveLength(utf8(JSON.stringify(data)).length);
    expect(JSON.parse(fromUtf8(unb64u(header)))).toEqual({
      alg: "dir",
      enc: "A256GCM",
      kid: "k1",
      sid: "user123",
    });
    const { plaintext, protectedHeader } = await compactDecrypt(jwe, key, {
      keyManagementAlgorithms: ["dir"],
      contentEncryptionAlgorithms: ["A256GCM"],
    });
    expect(protectedHeader).toEqual({ alg: "dir", enc: "A256GCM", kid: "k1", sid: "user123" });
    expect(new TextDecoder().decode(plaintext)).toBe(JSON.stringify(data));
  });

  it("uses a fresh IV every time", async () => {
    const entry = { id: "k1", key: await aesKey() };
    const jwes = await Promise.all(
      Array.from({ length: 50 }, () => encryptData(data, "user123", entry)),
    );
    expect(new Set(jwes.map((jwe) => jwe.split(".")[2])).size).toBe(50);
    expect(new Set(jwes.map((jwe) => jwe.split(".")[3])).size).toBe(50);
  });

  it("never shows the data in the JWE, in clear or in base64url", async () => {
    const secret = "hunter2-credit-card-4111111111111111";
    const jwe = await encryptData({ secret }, "user123", { id: "k1", key: await aesKey() });
    expect(jwe).not.toContain(secret);
    for (const shift of ["", "x", "xx"])
      expect(jwe).not.toContain(b64u(shift + secret).slice(4, -4));
    for (const part of jwe.split(".")) {
      expect(includesBytes(unb64u(part), utf8(secret))).toBe(false);
    }
  });

  it("refuses what JSON cannot hold", async () => {
    const entry = { id: "k1", key: await aesKey() };
    await expect(encryptData(undefined, "a", entry)).rejects.toBeInstanceOf(InvalidDataError);
    await expect(encryptData(() => 1, "a", entry)).rejects.toBeInstanceOf(InvalidDataError);
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    await expect(encryptData(cycle, "a", entry)).rejects.toBeInstanceOf(InvalidDataError);
    await expect(encryptData({ n: 1n }, "a", entry)).rejects.toBeInstanceOf(InvalidDataError);
  });
});

describe("decryptData", () => {
  it("reads what encryptData writes", async () => {
    const entry = { id: "k1", key: await aesKey() };
    const jwe = await encryptData(data, "user123", entry);
    expect(await decryptData(jwe, "user123", [entry])).toEqual(data);
  });

  it("reads what jose's CompactEncrypt writes, with or without kid, in any header order", async () => {
    const key = await aesKey();
    const keys = [{ id: "k1", key }];
    const headers = [
      { kid: "k1", sid: "user123" },
      { sid: "user123" },
      { sid: "user123", kid: "x" },
    ];
    for (const header of headers) {
      expect(await decryptData(await joseEncrypt(key, header), "user123", keys)).toEqual(data);
    }
  });

  it("round-trips any JSON value and any id, both ways with jose", async () => {
    const entry = { id: "k1", key: await aesKey() };
    await fc.assert(
      fc.asyncProperty(
        fc.jsonValue({ stringUnit: "binary" }),
        fc.string({ unit: "binary", minLength: 1, maxLength: 256 }),
        async (value, id) => {
          const expected = JSON.parse(JSON.stringify(value));
          const jwe = await encryptData(value, id, entry);
          for (const part of jwe.split(".")) expect(b64u(unb64u(part))).toBe(part);
          const { plaintext, protectedHeader } = await compactDecrypt(jwe, entry.key);
          expect(protectedHeader.sid).toBe(id);
          expect(JSON.parse(new TextDecoder().decode(plaintext))).toEqual(expected);
          const fromJose = await joseEncrypt(entry.key, { sid: id }, utf8(JSON.stringify(value)));
          expect(await decryptData(fromJose, id, [entry])).toEqual(expected);
        },
      ),
      { numRuns: 150 },
    );
  });

  it("keeps the reason as the cause, without the plaintext in it", async () => {
    const key = await aesKey();
    const jwe = await joseEncrypt(key, { sid: "a" }, utf8("secret words, not JSON"));
    const error = await failure(decryptData(jwe, "a", [{ id: "k1", key }]));
    expect(error.cause).toBeInstanceOf(Error);
    expect(String((error.cause as Error).message)).not.toContain("secret");
  });
});

describe("decryptData fails with DecryptionError, never anything else", () => {
  let entry: EncryptionKey;
  let jwe: string;
  const setup = async () => {
    entry = { id: "k1", key: await aesKey() };
    jwe = await encryptData(data, "user123", entry);
  };

  it("when a byte of any part is flipped", async () => {
    await setup();
    for (const index of [0, 2, 3, 4]) {
      const length = unb64u(jwe.split(".")[index] ?? "").length;
      for (const at of [0, length >> 1, length - 1]) {
        const edited = withPart(jwe, index, (part) => flipByte(part, at));
        await failure(decryptData(edited, "user123", [entry]));
      }
    }
    // With "dir" the Encrypted Key is empty: any content there is an edit.
    await failure(
      decryptData(
        withPart(jwe, 1, () => "AA"),
        "user123",
        [entry],
      ),
    );
  });

  it("when a character is changed, even one whose change base64 decoders may ignore", async () => {
    await setup();
    const parts = jwe.split(".");
    for (const index of [0, 2, 3, 4]) {
      const part = parts[index] ?? "";
      for (const at of [0, part.length >> 1, part.length - 1]) {
        const other = part[at] === "A" ? "B" : "A";
        const edited = withPart(jwe, index, () => part.slice(0, at) + other + part.slice(at + 1));
        await failure(decryptData(edited, "user123", [entry]));
      }
    }
  });

  it("when a part is spelled non-canonically, with the same bytes for lenient decoders", async () => {
    await setup();
    // A last character of 2 (or 3) in a group carries 4 (or 2) unused bits. Setting one leaves
    // the bytes unchanged for a lenient decoder, but is not the canonical spelling (RFC 4648 §3.5).
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const sameBytes = (part: string) =>
      part.slice(0, -1) + alphabet[alphabet.indexOf(part.at(-1) ?? "A") ^ 1];
    // Plaintexts of 2, 3 and 4 bytes: ciphertexts with every possible tail.
    for (const value of ["", "x", "xy"]) {
      const record = await encryptData(value, "user123", entry);
      for (const index of [0, 3, 4]) {
        const part = record.split(".")[index] ?? "";
        if (part.length % 4 === 0) continue;
        const edited = sameBytes(part);
        expect(bytesEqual(unb64u(edited), unb64u(part))).toBe(true);
        await failure(
          decryptData(
            withPart(record, index, () => edited),
            "user123",
            [entry],
          ),
        );
      }
    }
  });

  it("when the header is edited, even to equivalent JSON", async () => {
    await setup();
    const headers = [
      { alg: "dir", enc: "A256GCM", kid: "k1", sid: "user123", extra: 1 },
      { enc: "A256GCM", alg: "dir", kid: "k1", sid: "user123" },
      { alg: "dir", enc: "A256GCM", kid: "k2", sid: "user123" },
    ];
    for (const header of headers) {
      const edited = withPart(jwe, 0, () => b64u(JSON.stringify(header)));
      await failure(decryptData(edited, "user123", [entry, { id: "k2", key: entry.key }]));
    }
    const spaced = b64u(' {"alg":"dir","enc":"A256GCM","kid":"k1","sid":"user123"}');
    await failure(
      decryptData(
        withPart(jwe, 0, () => spaced),
        "user123",
        [entry],
      ),
    );
  });

  it("when the record is moved to another id", async () => {
    await setup();
    await failure(decryptData(jwe, "user124", [entry]));
    await failure(decryptData(jwe, "", [entry]));
    // Rewriting sid to the new id breaks the tag, since the header is the AAD.
    const moved = b64u(JSON.stringify({ alg: "dir", enc: "A256GCM", kid: "k1", sid: "user124" }));
    await failure(
      decryptData(
        withPart(jwe, 0, () => moved),
        "user124",
        [entry],
      ),
    );
    // A JWE without sid binds to no id, so it is refused.
    await failure(decryptData(await joseEncrypt(entry.key, { kid: "k1" }), "user123", [entry]));
  });

  it("with a wrong key, no key, or a kid that names the wrong key", async () => {
    await setup();
    const other = await aesKey();
    await failure(decryptData(jwe, "user123", [{ id: "k1", key: other }]));
    await failure(decryptData(jwe, "user123", [{ id: "k9", key: other }]));
    await failure(decryptData(jwe, "user123", []));
    // kid picks "k1", so the right key filed under another id is not tried.
    await failure(
      decryptData(jwe, "user123", [
        { id: "k1", key: other },
        { ...entry, id: "k2" },
      ]),
    );
  });

  it("when the string is truncated, has extra dots or is not base64url", async () => {
    await setup();
    const broken = [
      "",
      ".",
      "....",
      "a.b.c.d",
      `${jwe}.`,
      `.${jwe}`,
      `${jwe}.AAAA`,
      jwe.replace("..", "."),
      jwe.slice(0, -1),
      jwe.slice(0, -4),
      jwe.slice(0, jwe.length >> 1),
      jwe.slice(1),
      `${jwe}==`,
      `${jwe} `,
      withPart(jwe, 3, (part) => `${part.slice(0, 8)}+/${part.slice(10)}`),
      withPart(jwe, 3, (part) => `${part.slice(0, 8)}\n${part.slice(9)}`),
      withPart(jwe, 3, (part) => `${part.slice(0, 8)}é${part.slice(9)}`),
      // The same character plus 128 or 256: a decoder that masks the code to 7 bits would read
      // the very same bytes.
      withPart(
        jwe,
        3,
        (part) => `${String.fromCharCode((part.charCodeAt(0) ?? 0) + 128)}${part.slice(1)}`,
      ),
      withPart(
        jwe,
        4,
        (part) => `${part.slice(0, -1)}${String.fromCharCode((part.charCodeAt(21) ?? 0) + 256)}`,
      ),
      withPart(jwe, 3, (part) => `${part}=`),
      withPart(jwe, 3, (part) => `${part}A`),
      withPart(jwe, 2, (part) => part.slice(4)),
      withPart(jwe, 2, (part) => `${part}AAAA`),
      withPart(jwe, 4, (part) => `${part}AAAA`),
      withPart(jwe, 4, (part) => `${part.slice(0, -2)}=${part.slice(-1)}`),
      withPart(jwe, 4, (part) => part.slice(4)),
      withPart(jwe, 3, () => ""),
    ];
    for (const text of broken) await failure(decryptData(text, "user123", [entry]));
    for (const value of [null, undefined, 42, {}, ["a"]]) {
      await failure(decryptData(value as never, "user123", [entry]));
    }
  });

  it("when the header is not a dir/A256GCM JSON object this module understands", async () => {
    await setup();
    const { key } = entry;
    const keys = [entry];
    // Each is properly encrypted and authenticated: only the header's content is refused.
    const headers: Record<string, unknown>[] = [
      { sid: "user123", kid: 7 },
      { sid: 42 },
      { sid: ["user123"] },
      { sid: "user123", crit: ["exp"], exp: 1 },
      { sid: "user123", zip: "DEF" },
      { sid: "user123", alg: "A256KW" },
      { sid: "user123", enc: "A128GCM" },
      { sid: "user123", alg: undefined },
    ];
    for (const header of headers) {
      const text = JSON.stringify({ alg: "dir", enc: "A256GCM", ...header });
      await failure(decryptData(await handMade(key, text, "1"), "user123", keys));
    }
    const valid = '{"alg":"dir","enc":"A256GCM","sid":"user123"}';
    expect(await decryptData(await handMade(key, valid, "1"), "user123", keys)).toBe(1);
    for (const text of ["null", "[]", '"x"', "{", "\xff", `${valid}x`]) {
      await failure(decryptData(await handMade(key, text, "1"), "user123", keys));
    }
    const other = await crypto.subtle.generateKey({ name: "AES-KW", length: 256 }, true, [
      "wrapKey",
      "unwrapKey",
    ]);
    const wrapped = await new CompactEncrypt(utf8("1"))
      .setProtectedHeader({ alg: "A256KW", enc: "A256GCM", sid: "user123" })
      .encrypt(other);
    await failure(decryptData(wrapped, "user123", [{ id: "k", key }]));
  });

  it("when the plaintext is not UTF-8 JSON", async () => {
    await setup();
    for (const bytes of [utf8("hello"), utf8(""), new Uint8Array([0xff, 0xfe]), utf8("{}x")]) {
      const jweFromJose = await joseEncrypt(entry.key, { sid: "user123" }, bytes);
      await failure(decryptData(jweFromJose, "user123", [entry]));
    }
  });

  it("for any random edit of a valid JWE (fuzz)", async () => {
    await setup();
    const chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ é";
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: jwe.length - 1 }),
        fc.nat({ max: 3 }),
        fc.constantFrom(...chars),
        async (at, deleteCount, char) => {
          const edited = jwe.slice(0, at) + char + jwe.slice(at + deleteCount);
          fc.pre(edited !== jwe);
          await failure(decryptData(edited, "user123", [entry]));
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("key choice", () => {
  it("decrypts with the key named by kid, and only that one", async () => {
    const a = { id: "a", key: await aesKey() };
    const b = { id: "b", key: await aesKey() };
    const jwe = await encryptData(data, "s", a);
    const decrypt = vi.spyOn(crypto.subtle, "decrypt");
    expect(await decryptData(jwe, "s", [b, a])).toEqual(data);
    expect(decrypt).toHaveBeenCalledTimes(1);
    expect(decrypt.mock.calls[0]?.[1]).toBe(a.key);
    await failure(decryptData(jwe, "s", [b]));
  });

  it("tries every key when kid is missing or unknown", async () => {
    const a = await aesKey();
    const b = { id: "b", key: await aesKey() };
    const unknown = await encryptData(data, "s", { id: "retired", key: a });
    const missing = await joseEncrypt(a, { sid: "s" });
    expect(await decryptData(unknown, "s", [b, { id: "c", key: a }])).toEqual(data);
    expect(await decryptData(missing, "s", [b, { id: "c", key: a }])).toEqual(data);
    await failure(decryptData(unknown, "s", [b]));
  });
});
