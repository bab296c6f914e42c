// The root entry, the same in browsers and Node. Hand-picked: internals (the deadline queue, the
// scheduler, the store guard, the log plumbing) stay out so they can change without a major.
// Stores are exported from their own subpaths (`sessionmanager-js/stores/memory`) so that a bundle
// keeps only the ones it imports. Which backends can be named is chosen by package condition
// (`#backends`): in Node the file, SQLite, PostgreSQL, Redis and Memcached stores too.

export type { EncryptionOptions } from "./crypto/keys.ts";
export type { HashPasswordOptions } from "./crypto/password.ts";
export { hashPassword, verifyPassword } from "./crypto/password.ts";
export type { Duration, DurationUnit } from "./duration.ts";
export { parseDuration } from "./duration.ts";
export type { AnySessionError, SessionErrorCode } from "./errors.ts";
export {
  AuthError,
  BackendError,
  ConflictError,
  DecryptionError,
  InvalidDataError,
  InvalidSessionIdError,
  InvalidTtlError,
  isSessionError,
  SessionError,
  SessionExistsError,
  SessionNotFoundError,
} from "./errors.ts";
export { createSessionId } from "./id.ts";
export type { Logger, LogLevel } from "./log.ts";
export type {
  AddOptions,
  CoreSessionManagerOptions,
  Encryption,
  SessionEvents,
  SessionManagerOptions,
  SessionManagerStatus,
  Sync,
} from "./options.ts";
export { SessionManager } from "./root-manager.ts";
export type { Session } from "./session.ts";
export type { BackendName } from "./stores/resolve.ts";
export type {
  Awaitable,
  SessionRecord,
  SessionStore,
  StoreCapabilities,
  WriteCondition,
} from "./stores/types.ts";
