import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import {
  AuthError,
  BackendError,
  ConflictError,
  DecryptionError,
  InvalidDataError,
  InvalidSessionIdError,
  InvalidTtlError,
  isSessionError,
  QuotaError,
  SessionError,
  SessionExistsError,
  SessionNotFoundError,
} from "../src/index.ts";

describe("errors", () => {
  const cases = [
    [new InvalidTtlError("m"), "InvalidTtlError", "INVALID_TTL"],
    [new InvalidSessionIdError("m"), "InvalidSessionIdError", "INVALID_ID"],
    [new InvalidDataError("m"), "InvalidDataError", "INVALID_DATA"],
    [new SessionNotFoundError("a"), "SessionNotFoundError", "SESSION_NOT_FOUND"],
    [new SessionExistsError("a"), "SessionExistsError", "SESSION_EXISTS"],
    [new BackendError("m"), "BackendError", "BACKEND_UNAVAILABLE"],
    [new DecryptionError(), "DecryptionError", "DECRYPTION_FAILED"],
    [new ConflictError("m"), "ConflictError", "CONFLICT"],
    [new AuthError("m"), "AuthError", "UNAUTHORIZED"],
    [new QuotaError("m"), "QuotaError", "QUOTA_EXCEEDED"],
    [new SessionError("CLOSED", "m"), "SessionError", "CLOSED"],
  ] as const;

  it.each(cases)("%s has its name and code and extends SessionError", (error, name, code) => {
    expect(error).toBeInstanceOf(SessionError);
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe(name);
    expect(error.code).toBe(code);
    expect(isSessionError(error)).toBe(true);
    expect(String(error)).toMatch(new RegExp(`^${name}: `));
  });

  it("keeps the cause", () => {
    const cause = new Error("ECONNREFUSED");
    expect(new BackendError("redis store failed", { cause }).cause).toBe(cause);
  });

  it("carries the HTTP status of a session server's answer, and none otherwise", () => {
    const answered = new BackendError("the session server answered 503", { status: 503 });
    expect(answered.status).toBe(503);
    const unreachable = new BackendError("GET sessions failed: timed out", { cause: new Error() });
    expect(unreachable.status).toBeUndefined();
    expect(Object.hasOwn(unreachable, "status")).toBe(false);
  });

  it("isSessionError knows QuotaError from another realm or copy of the package", () => {
    const foreign = runInNewContext(
      `const e = new Error("over quota"); e.name = "QuotaError"; e.code = "QUOTA_EXCEEDED"; e`,
    );
    expect(isSessionError(foreign)).toBe(true);
  });

  it("a full web storage is a BackendError with the browser's QuotaExceededError as cause, not a QuotaError", async () => {
    const { localStorageStore } = await import("../src/stores/webstorage.ts");
    const { SessionManager } = await import("../src/index.ts");
    const items = new Map<string, string>();
    let full = false;
    const storage = {
      get length() {
        return items.size;
      },
      key: (i: number) => [...items.keys()][i] ?? null,
      getItem: (key: string) => items.get(key) ?? null,
      setItem(key: string, value: string) {
        if (full) throw new DOMException("The quota has been exceeded.", "QuotaExceededError");
        items.set(key, value);
      },
      removeItem: (key: string) => void items.delete(key),
      clear: () => items.clear(),
    } as Storage;
    const sm = new SessionManager({ backend: localStorageStore({ storage }) });
    await sm.add("kept");
    full = true;
    const error = await sm.add("new").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendError);
    expect(error).not.toBeInstanceOf(QuotaError);
    expect((error as BackendError).cause).toMatchObject({ name: "QuotaExceededError" });
    await sm.close();
  });

  it("keeps decryption failures generic", () => {
    expect(new DecryptionError().message).toBe("decryption operation failed");
  });

  it("isSessionError works across realms and copies of the package", () => {
    const foreign = runInNewContext(
      `const e = new Error("no live session"); e.name = "SessionNotFoundError"; e.code = "SESSION_NOT_FOUND"; e`,
    );
    expect(foreign instanceof Error).toBe(false);
    expect(isSessionError(foreign)).toBe(true);
  });

  it.each([
    new Error("x"),
    { name: "Error", code: "INVALID_TTL" },
    { name: "FooError", code: "NOPE" },
    null,
    "SESSION_EXISTS",
    undefined,
  ])("isSessionError(%o) is false", (value) => {
    expect(isSessionError(value)).toBe(false);
  });
});
