import type { Session } from "./types.ts";

/**
 * An id as logs and error messages may show it: ids can be secrets, so only the first four
 * characters.
 */
export function shortId(id: string): string {
  return id.length > 4 ? `${id.slice(0, 4)}…` : id;
}

/** Every code a `SessionError` can carry. Stable: match on these, never on messages. */
export type SessionErrorCode =
  | "INVALID_TTL"
  | "INVALID_ID"
  | "INVALID_DATA"
  | "SESSION_NOT_FOUND"
  | "SESSION_EXISTS"
  | "BACKEND_UNAVAILABLE"
  | "DECRYPTION_FAILED"
  | "CONFLICT"
  | "UNAUTHORIZED"
  | "QUOTA_EXCEEDED"
  | "CLOSED";

/**
 * Base class of every error the SDK throws. `code` tells errors apart; `CLOSED` (a call after
 * `close()`) is thrown as a plain `SessionError`.
 * @example
 * try { await sm.touch(id) } catch (e) { if (isSessionError(e) && e.code === "SESSION_NOT_FOUND") … }
 */
export class SessionError extends Error {
  /** What went wrong, stable across versions: match on it, never on `message`. */
  readonly code: SessionErrorCode;

  constructor(code: SessionErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    // Each class writes its own name (a minifier may change the class's): a page then carries
    // the names of the errors it can throw, not a table of them all (~100 B gzip).
    this.name = "SessionError";
  }
}

/** A ttl or other duration that is zero, negative, NaN, Infinity or unparsable. */
export class InvalidTtlError extends SessionError {
  /** Always `"INVALID_TTL"` for this class. */
  declare readonly code: "INVALID_TTL";
  constructor(message: string) {
    super("INVALID_TTL", message);
    this.name = "InvalidTtlError";
  }
}

/** A session id that is not a non-empty string of at most 256 characters. */
export class InvalidSessionIdError extends SessionError {
  /** Always `"INVALID_ID"` for this class. */
  declare readonly code: "INVALID_ID";
  constructor(message: string) {
    super("INVALID_ID", message);
    this.name = "InvalidSessionIdError";
  }
}

/** Session data that JSON cannot hold (cycles, BigInt) or would drop (functions, symbols). */
export class InvalidDataError extends SessionError {
  /** Always `"INVALID_DATA"` for this class. */
  declare readonly code: "INVALID_DATA";
  constructor(message: string) {
    super("INVALID_DATA", message);
    this.name = "InvalidDataError";
  }
}

/** No live session has this id (an expired one counts as absent). */
export class SessionNotFoundError extends SessionError {
  /** Always `"SESSION_NOT_FOUND"` for this class. */
  declare readonly code: "SESSION_NOT_FOUND";
  /** The id that has no live session. */
  readonly id: string;
  constructor(id: string) {
    super("SESSION_NOT_FOUND", `no live session with id ${JSON.stringify(id)}`);
    this.name = "SessionNotFoundError";
    this.id = id;
  }
}

/** `add` of an id that already has a live session. */
export class SessionExistsError extends SessionError {
  /** Always `"SESSION_EXISTS"` for this class. */
  declare readonly code: "SESSION_EXISTS";
  /** The id that already has a live session. */
  readonly id: string;
  constructor(id: string) {
    super("SESSION_EXISTS", `a live session with id ${JSON.stringify(id)} already exists`);
    this.name = "SessionExistsError";
    this.id = id;
  }
}

/** The store could not be reached or failed; `cause` holds the underlying error. */
export class BackendError extends SessionError {
  /** Always `"BACKEND_UNAVAILABLE"` for this class. */
  declare readonly code: "BACKEND_UNAVAILABLE";
  /**
   * The HTTP status a session server answered with (remote store, replica), when the failure
   * was an answer; absent for a network failure, a timeout or any other store.
   */
  declare readonly status?: number;
  constructor(message: string, options?: { cause?: unknown; status?: number | undefined }) {
    super("BACKEND_UNAVAILABLE", message, options);
    this.name = "BackendError";
    // Set only when there is one (`declare`: no own `status` property otherwise).
    if (options?.status !== undefined) this.status = options.status;
  }
}

/** A stored record could not be decrypted (wrong key, edited or moved). Deliberately generic. */
export class DecryptionError extends SessionError {
  /** Always `"DECRYPTION_FAILED"` for this class. */
  declare readonly code: "DECRYPTION_FAILED";
  constructor(options?: { cause?: unknown }) {
    super("DECRYPTION_FAILED", "decryption operation failed", options);
    this.name = "DecryptionError";
  }
}

/** A write lost against a newer version of the same session. */
export class ConflictError extends SessionError {
  /** Always `"CONFLICT"` for this class. */
  declare readonly code: "CONFLICT";
  /** The session the write was for, when one write lost (sync). */
  readonly id?: string;
  /** This client's copy that lost, and the server's copy that won (absent: the server has none). */
  readonly local?: Session<unknown> | undefined;
  /** The server's copy that won; absent when the server has none (it was removed there). */
  readonly server?: Session<unknown> | undefined;
  constructor(
    message: string,
    details?: {
      id: string;
      local?: Session<unknown> | undefined;
      server?: Session<unknown> | undefined;
    },
  ) {
    super("CONFLICT", message);
    this.name = "ConflictError";
    if (details) Object.assign(this, details);
  }
}

/** The server refused the token. */
export class AuthError extends SessionError {
  /** Always `"UNAUTHORIZED"` for this class. */
  declare readonly code: "UNAUTHORIZED";
  constructor(message: string, options?: { cause?: unknown }) {
    super("UNAUTHORIZED", message, options);
    this.name = "AuthError";
  }
}

/**
 * A session server refused to create a session: the owner has as many live sessions as the
 * server allows (its `maxSessionsPerOwner`). Remove some, or replace one, and try again.
 */
export class QuotaError extends SessionError {
  /** Always `"QUOTA_EXCEEDED"` for this class. */
  declare readonly code: "QUOTA_EXCEEDED";
  constructor(message: string) {
    super("QUOTA_EXCEEDED", message);
    this.name = "QuotaError";
  }
}

/** The message of anything thrown: an error's own, or the value as a string. @internal */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Every error the SDK throws, discriminated by `code`. */
export type AnySessionError =
  | InvalidTtlError
  | InvalidSessionIdError
  | InvalidDataError
  | SessionNotFoundError
  | SessionExistsError
  | BackendError
  | DecryptionError
  | ConflictError
  | AuthError
  | QuotaError
  | (SessionError & { code: "CLOSED" });

// The name of each code's class, for `isSessionError`: made on its first call, by asking the
// classes (each names itself), so that no page carries a second copy of the names.
let namesByCode: Map<string, string> | undefined;

/**
 * True for any error thrown by this SDK, also across realms (iframes, workers, a second copy of
 * the package) where `instanceof` fails.
 * @example
 * if (isSessionError(error) && error.code === "SESSION_EXISTS") …
 */
export function isSessionError(error: unknown): error is AnySessionError {
  if (error instanceof SessionError) return true;
  if (typeof error !== "object" || error === null) return false;
  const { name, code }: { name?: unknown; code?: unknown } = error;
  if (typeof code !== "string") return false;
  namesByCode ??= new Map<string, string>(
    [
      InvalidTtlError,
      InvalidSessionIdError,
      InvalidDataError,
      SessionNotFoundError,
      SessionExistsError,
      BackendError,
      DecryptionError,
      ConflictError,
      AuthError,
      QuotaError,
    ].map((Class) => {
      const made = new Class("");
      return [made.code, made.name];
    }),
  ).set("CLOSED", "SessionError");
  const own = namesByCode.get(code);
  return own !== undefined && (name === "SessionError" || name === own);
}
