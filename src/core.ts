/**
 * The same {@link SessionManager} as the root entry without the by-name conveniences: the store,
 * the encryption and the sync are objects imported from their own entries, so a page bundled into
 * one file holds only what it uses.
 * @packageDocumentation
 */
// `sessionmanager-js/core`: the same manager without the by-name conveniences. The store, the
// encryption and the sync are objects the page imports from their own entries, so a bundle holds
// only what it uses, even as one file without code splitting.
// @example
// import { SessionManager } from "sessionmanager-js/core";
// import { encryption } from "sessionmanager-js/crypto";
// import { sync } from "sessionmanager-js/remote";
// import { indexedDBStore } from "sessionmanager-js/stores/indexeddb";
// new SessionManager({ backend: indexedDBStore(), encryption: encryption({ key }), remote: sync({ url, token }) });

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
  QuotaError,
  SessionError,
  SessionExistsError,
  SessionNotFoundError,
} from "./errors.ts";
export type { Logger, LogLevel } from "./log.ts";
export { SessionManager } from "./manager.ts";
export type {
  ActivityOptions,
  ActivityTarget,
  AddOptions,
  CoreSessionManagerOptions,
  Encryption,
  SessionEvents,
  SessionManagerStatus,
  Sync,
} from "./options.ts";
export { createSessionId } from "./session.ts";
export type {
  Awaitable,
  ChangeEntry,
  ChangeLogOptions,
  ChangePage,
  ChangesRequest,
  ListRequest,
  Page,
  PageRequest,
  ResyncSignal,
  SessionPartition,
  SessionRecord,
  SessionStore,
  StoreCapabilities,
  StoreChange,
  StoreContext,
  WriteCondition,
} from "./stores/types.ts";
export type { Change, Session } from "./types.ts";
