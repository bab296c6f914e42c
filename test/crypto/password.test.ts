import { pbkdf2Sync, randomBytes } from "node:crypto";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  constantTimeEqual,
  hashPassword,
  pbkdf2Sha256,
  verifyPassword,
} from "../../src/crypto/password.ts";
import { InvalidDataError, isSessionError } from "../../src/errors.ts";

// Low counts keep the suite fast; only the default test pays for 600,000 iterations.
const fast = { iterations: 1_000 };
const password = "correct horse battery staple";
// hashPassword(password, fast) with the salt bytes 0x00, 0x11, …, 0xff (computed with node:crypto).
const golden =
  "$pbkdf2-sha256$i=1000$ABEiM0RVZneImaq7zN3u/w$37Izw7UGVXXvQEMoyIGgy6cbcYD3Ipii7cXqXzpMAvk";
const format = /^\$pbkdf2-sha256\$i=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

function fields(hash: string): { iterations: number; salt: Buffer; key: Buffer } {
  const match = format.exec(hash);
  if (!match) throw new Error("not a PHC pbkdf2-sha256 string");
  const [, iterations = "", salt = "", key = ""] = match;
  return {
    iterations: Number(iterations),
    salt: Buffer.from(salt, "base64"),
    key: Buffer.from(key, "base64"),
  };
}

function phc(iterations: number, salt: Uint8Array, key: Uint8Array): string {
  const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64").replace(/=+$/, "");
  return `$pbkdf2-sha256$i=${iterations}$${b64(salt)}$${b64(key)}`;
}

async function rejection(promise: Promise<unknown>): Promise<InvalidDataError> {
  const error = await promise.then(
    () => expect.fail("expected a rejection"),
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(InvalidDataError);
  expect(isSessionError(error) && error.code).toBe("INVALID_DATA");
  return error as InvalidDataError;
}

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllGlobals();
});

describe("hashPassword and verifyPassword", () => {
  it("round-trips and refuses a wrong password", async () => {
    const hash = await hashPassword(password, fast);
    expect(hash).toMatch(/^\$pbkdf2-sha256\$i=1000\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    expect(await verifyPassword(password, hash)).toBe(true);
    expect(await verifyPassword("correct horse battery stapl", hash)).toBe(false);
    expect(await verifyPassword("Correct horse battery staple", hash)).toBe(false);
    expect(await verifyPassword(`${password} `, hash)).toBe(false);
  });

  it("salts every hash at random", async () => {
    const [a, b] = await Promise.all([hashPassword(password, fast), hashPassword(password, fast)]);
    expect(a).not.toBe(b);
    expect(fields(a).salt).toHaveLength(16);
    expect(fields(a).salt.equals(fields(b).salt)).toBe(false);
    expect(await verifyPassword(password, b)).toBe(true);
  });

  it("uses at least 600,000 iterations by default and says so in the string", async () => {
    const hash = await hashPassword(password);
    expect(fields(hash).iterations).toBeGreaterThanOrEqual(600_000);
    expect(hash).toContain(`$i=${fields(hash).iterations}$`);
  });

  it("verifies hashes made with other iteration counts, salt and key lengths", async () => {
    expect(
      await verifyPassword(password, await hashPassword(password, { iterations: 2_345 })),
    ).toBe(true);
    // A 64-byte key and a 64-byte salt, as another PBKDF2 library might have stored them.
    const salt = randomBytes(64);
    const hash = phc(1_500, salt, pbkdf2Sync(password, salt, 1_500, 64, "sha256"));
    expect(hash.length).toBe(195);
    expect(await verifyPassword(password, hash)).toBe(true);
    expect(await verifyPassword("wrong", hash)).toBe(false);
    // The shortest salt and key it takes: 16 bytes each.
    const short = randomBytes(16);
    const shortest = phc(1_000, short, pbkdf2Sync(password, short, 1_000, 16, "sha256"));
    expect(await verifyPassword(password, shortest)).toBe(true);
  });

  it("matches the PBKDF2-HMAC-SHA256 known-answer vectors", async () => {
    const salt = new TextEncoder().encode("salt");
    const key = await pbkdf2Sha256("password", salt, 1, 32);
    expect(Buffer.from(key).toString("hex")).toBe(
      "120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b",
    );
    // The vector with a 36-byte salt and a 40-byte key at c = 4096, through the public parser
    // (whose salts are at least 16 bytes: not the 4-byte "salt" above).
    const hash =
      "$pbkdf2-sha256$i=4096$c2FsdFNBTFRzYWx0U0FMVHNhbHRTQUxUc2FsdFNBTFRzYWx0$NIyJ28vTKy8y2BS4EW6EzysXNH68GAAYHE4qH7jdU+HGNVGMfaxH6Q";
    expect(await verifyPassword("passwordPASSWORDpassword", hash)).toBe(true);
    expect(await verifyPassword("passwordPASSWORDpassworc", hash)).toBe(false);
  });

  it("agrees with node:crypto pbkdf2Sync for random passwords and salts", async () => {
    for (let run = 0; run < 5; run++) {
      const secret = `${randomBytes(12).toString("base64")}é🔑\u00e5${run}`;
      const salt = randomBytes(16);
      const expected = pbkdf2Sync(secret, salt, 1_000, 32, "sha256");
      expect(Buffer.from(await pbkdf2Sha256(secret, salt, 1_000, 32)).equals(expected)).toBe(true);

      const hash = await hashPassword(secret, fast);
      const { salt: used, key } = fields(hash);
      expect(key.equals(pbkdf2Sync(secret, used, 1_000, 32, "sha256"))).toBe(true);
    }
  });

  it("gives the same string for the same salt and iterations", async () => {
    const salt = Uint8Array.from({ length: 16 }, (_, i) => i * 17);
    vi.spyOn(crypto, "getRandomValues").mockImplementation((array) => {
      new Uint8Array(array.buffer, array.byteOffset, array.byteLength).set(salt);
      return array;
    });
    expect(phc(1_000, salt, pbkdf2Sync(password, salt, 1_000, 32, "sha256"))).toBe(golden);
    expect(await hashPassword(password, fast)).toBe(golden);
  });

  it("treats NFC and NFD forms of a password as the same password", async () => {
    const nfc = "caf\u00e9 \u00c5ngstr\u00f6m";
    const nfd = nfc.normalize("NFD");
    expect(nfd).not.toBe(nfc);
    const hash = await hashPassword(nfd, fast);
    expect(await verifyPassword(nfc, hash)).toBe(true);
    expect(await verifyPassword(nfd, hash)).toBe(true);
    // The Ångström sign U+212B is canonically equal to Å too.
    expect(await verifyPassword("caf\u00e9 \u212bngstr\u00f6m", hash)).toBe(true);
    expect(await verifyPassword("cafe \u00c5ngstr\u00f6m", hash)).toBe(false);
  });
});

describe("refused input", () => {
  const valid = golden;
  const [, , , salt = "", key = ""] = valid.split("$");
  const malformed: [string, string][] = [
    ["empty", ""],
    ["no leading $", valid.slice(1)],
    ["another algorithm", valid.replace("sha256", "sha512")],
    ["argon2", `$argon2id$v=19$m=65536,t=3,p=4$${salt}$${key}`],
    ["passlib's rounds without i=", valid.replace("i=1000", "1000")],
    ["a missing hash", `$pbkdf2-sha256$i=1000$${salt}`],
    ["a missing salt", `$pbkdf2-sha256$i=1000$$${key}`],
    ["an empty hash", `$pbkdf2-sha256$i=1000$${salt}$`],
    ["an extra field", `${valid}$extra`],
    ["i=0", valid.replace("i=1000", "i=0")],
    ["i=abc", valid.replace("i=1000", "i=abc")],
    ["i below 1,000", valid.replace("i=1000", "i=999")],
    ["i above 10,000,000", valid.replace("i=1000", "i=10000001")],
    ["a huge i", valid.replace("i=1000", "i=99999999999999999999999")],
    ["i with a leading zero", valid.replace("i=1000", "i=01000")],
    ["i in exponent form", valid.replace("i=1000", "i=1e4")],
    ["a negative i", valid.replace("i=1000", "i=-1000")],
    ["a second parameter", valid.replace("i=1000", "i=1000,v=1")],
    ["base64url characters", valid.replace(key, `-_${key.slice(2)}`)],
    ["padding", `${valid}=`],
    ["spaces", valid.replace(salt, ` ${salt}`)],
    ["a non-canonical last character", valid.replace(/k$/, "l")],
    ["an impossible base64 length", valid.replace(salt, `${salt}AAA`)],
    ["a salt over 64 bytes", valid.replace(salt, "A".repeat(88))],
    // Issue 11, finding 11: salts under 16 bytes (NIST SP 800-132) are refused.
    ["a 1-byte salt", valid.replace(salt, "AA")],
    ["a 4-byte salt", valid.replace(salt, "c2FsdA")],
    ["a 15-byte salt", valid.replace(salt, "A".repeat(20))],
    ["a hash under 16 bytes", valid.replace(key, "AAAAAAAAAAAAAAAAAAAA")],
    ["a hash over 64 bytes", valid.replace(key, "A".repeat(88))],
  ];

  it("accepts the string the malformed cases are made from", async () => {
    expect(await verifyPassword(password, valid)).toBe(true);
  });

  it.each(malformed)("rejects a hash with %s, quoting neither secret", async (_, hash) => {
    const error = await rejection(verifyPassword(password, hash));
    expect(error.message).toMatch(/^hash must be a "\$pbkdf2-sha256\$i=…\$salt\$hash" string/);
    expect(error.message).not.toContain(password);
    expect(error.message).not.toContain(salt);
    expect(error.message).not.toContain(key);
    if (hash.length > 20) expect(error.message).not.toContain(hash);
  });

  it("refuses a 10 MB string by its length, before splitting or decoding it", async () => {
    const atob = vi.spyOn(globalThis, "atob");
    const split = vi.spyOn(String.prototype, "split");
    const huge = `$pbkdf2-sha256$i=1000$${"A".repeat(10_000_000)}$${key}`;
    const error = await rejection(verifyPassword(password, huge));
    expect(error.message).toBe(
      `hash must be a "$pbkdf2-sha256$i=…$salt$hash" string of at most 199 characters, got ${huge.length}`,
    );
    expect(atob).not.toHaveBeenCalled();
    expect(split.mock.contexts).not.toContain(huge);
    // One character over the longest valid hash (64-byte salt and key) is refused the same way.
    const longest = `$pbkdf2-sha256$i=1000$${"A".repeat(86)}$${"A".repeat(86)}`;
    expect(longest.length).toBe(195);
    await rejection(verifyPassword(password, `${longest}${"A".repeat(5)}`));
    expect(atob).not.toHaveBeenCalled();
    // The longest string that may be a hash (i=10000000, 64-byte salt and key) is parsed.
    const widest = `$pbkdf2-sha256$i=10000000$${"A".repeat(86)}$${"A".repeat(85)}!`;
    expect(widest.length).toBe(199);
    const parsed = await rejection(verifyPassword(password, widest));
    expect(parsed.message).toMatch(/got a hash that is not 16 to 64 bytes/);
  });

  it.each([undefined, null, 42, {}])("rejects a hash that is %s", async (hash) => {
    const error = await rejection(verifyPassword(password, hash as unknown as string));
    expect(error.message).toMatch(/^hash must be .*, got (undefined|null|number|object)$/);
  });

  it.each([
    ["", "an empty string"],
    [undefined, "undefined"],
    [null, "null"],
    [12345678, "number"],
    [new String("secret-123"), "object"],
  ])("refuses the password %j in both functions", async (bad, given) => {
    for (const call of [
      () => hashPassword(bad as string, fast),
      () => verifyPassword(bad as string, valid),
    ]) {
      const error = await rejection(call());
      expect(error.message).toBe(`password must be a non-empty string, got ${given}`);
      expect(error.message).not.toMatch(/12345678|secret-123/);
    }
  });

  it.each([0, 999, 1_000.5, Number.NaN, Number.POSITIVE_INFINITY, 10_000_001, "1000"])(
    "refuses iterations: %j",
    async (iterations) => {
      const error = await rejection(
        hashPassword(password, { iterations: iterations as unknown as number }),
      );
      expect(error.message).toMatch(/^iterations must be an integer from 1000 to 10000000, got /);
      expect(error.message).not.toContain(password);
    },
  );

  it("touches WebCrypto only when called, and explains its absence", async () => {
    vi.resetModules();
    vi.stubGlobal("crypto", undefined);
    const module = await import("../../src/crypto/password.ts");
    await expect(module.verifyPassword(password, valid)).rejects.toThrow(/crypto\.subtle.*HTTPS/);
  });
});

describe("constantTimeEqual", () => {
  const bytes = (...values: number[]) => Uint8Array.from(values);

  it("is true for equal bytes, empty included", () => {
    expect(constantTimeEqual(bytes(1, 2, 3), bytes(1, 2, 3))).toBe(true);
    expect(constantTimeEqual(bytes(), bytes())).toBe(true);
  });

  it("is false for a difference anywhere", () => {
    expect(constantTimeEqual(bytes(0, 2, 3), bytes(1, 2, 3))).toBe(false);
    expect(constantTimeEqual(bytes(1, 2, 3), bytes(1, 2, 4))).toBe(false);
    expect(constantTimeEqual(bytes(255, 0), bytes(0, 255))).toBe(false);
  });

  it("is false for different lengths, a prefix included", () => {
    expect(constantTimeEqual(bytes(1, 2), bytes(1, 2, 3))).toBe(false);
    expect(constantTimeEqual(bytes(1, 2, 3), bytes(1, 2))).toBe(false);
    expect(constantTimeEqual(bytes(), bytes(0))).toBe(false);
  });
});
