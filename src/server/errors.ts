import { ConflictError, isSessionError, type SessionErrorCode } from "../errors.ts";
import type { WireSession } from "../protocol.ts";

/** Codes the API sends beyond the SDK's own (see src/protocol.ts). */
export type HttpErrorCode =
  | "BAD_REQUEST"
  | "PAYLOAD_TOO_LARGE"
  | "NOT_FOUND"
  | "INTERNAL"
  | "BACKEND_UNAVAILABLE"
  | "NOT_SUPPORTED"
  | "TOO_MANY_STREAMS";

/** A request the server refuses for what it is, not for what it asks of sessions. */
export class HttpError extends Error {
  readonly status: number;
  readonly code: HttpErrorCode;

  constructor(status: number, code: HttpErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "HttpError";
    this.status = status;
    this.code = code;
  }
}

/** `If-Match` named another version (or a session that is not there): 412 with the current one. */
export class PreconditionFailedError extends ConflictError {
  /** The owner's live session as it is now, if there is one. */
  readonly current: WireSession | undefined;

  constructor(id: string, expected: number | "*", current: WireSession | undefined) {
    const found = current ? `it is at version ${current.version}` : "there is no live session";
    const wanted = expected === "*" ? "any version" : `version ${expected}`;
    super(`session ${JSON.stringify(id)} is not at ${wanted}: ${found}`);
    this.current = current;
  }
}

/** What an error becomes on the wire: the status and the `{ code, message }` of the body. */
export interface ErrorReply {
  status: number;
  code: string;
  message: string;
}

const statusOf: Partial<Record<SessionErrorCode, number>> = {
  INVALID_ID: 400,
  INVALID_TTL: 400,
  INVALID_DATA: 400,
  UNAUTHORIZED: 401,
  QUOTA_EXCEEDED: 403,
  SESSION_NOT_FOUND: 404,
  SESSION_EXISTS: 409,
  // A write that kept losing to other writers; a failed `If-Match` is 412 (below).
  CONFLICT: 409,
  BACKEND_UNAVAILABLE: 503,
  CLOSED: 503,
};

/**
 * The reply for an error thrown while answering. Store failures say which store failed but not
 * why: driver messages can carry hosts, users and paths that callers have no business seeing
 * (the server log has them). Anything unexpected is a generic 500.
 */
export function toErrorReply(error: unknown, storeName: string): ErrorReply {
  if (error instanceof HttpError) return reply(error.status, error.code, error.message);
  if (error instanceof PreconditionFailedError) return reply(412, "CONFLICT", error.message);
  if (isSessionError(error)) {
    if (error.code === "BACKEND_UNAVAILABLE") {
      return reply(503, error.code, `the ${storeName} store failed; try again later`);
    }
    if (error.code === "CLOSED") return reply(503, "BACKEND_UNAVAILABLE", "the server is closed");
    return reply(statusOf[error.code] ?? 500, error.code, error.message);
  }
  return reply(500, "INTERNAL", "internal server error");
}

function reply(status: number, code: string, message: string): ErrorReply {
  return { status, code, message };
}
