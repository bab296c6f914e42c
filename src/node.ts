// The Node entry (the `node` condition of the exports map): the root entry, plus the names of the
// Node-only backends (file, SQLite, PostgreSQL, Redis, Memcached), resolved from here so that
// browser bundles never see them. Registering them touches nothing outside this package.
import { nodeBackends } from "./stores/node-backends.ts";
import { registerBackends } from "./stores/resolve.ts";

registerBackends(nodeBackends);

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
