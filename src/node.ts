// The Node entry (the `node` condition of the exports map). Today it is the root entry as is;
// Node-only stores (file, SQLite, PostgreSQL, Redis, Memcached) will be resolved from here so
// that browser bundles never see them.

export type {
  AddOptions,
  AnySessionError,
  Awaitable,
  BackendName,
  Duration,
  DurationUnit,
  HashPasswordOptions,
  Logger,
  LogLevel,
  Session,
  SessionErrorCode,
  SessionEvents,
  SessionManagerOptions,
  SessionManagerStatus,
  SessionRecord,
  SessionStore,
  StoreCapabilities,
  WriteCondition,
} from "./index.ts";
export {
  AuthError,
  BackendError,
  ConflictError,
  createSessionId,
  DecryptionError,
  hashPassword,
  InvalidDataError,
  InvalidSessionIdError,
  InvalidTtlError,
  isSessionError,
  parseDuration,
  SessionError,
  SessionExistsError,
  SessionManager,
  SessionNotFoundError,
  verifyPassword,
} from "./index.ts";
