/**
 * The root entry, the same in browsers and Node: {@link SessionManager} with stores by name
 * (`backend: "indexedDB"`) and features by their plain options (`encryption: { key }`,
 * `remote: { url, token }`), loaded on first use; the errors, {@link createSessionId}, and the
 * password helpers. Start with the Getting started guide.
 * @packageDocumentation
 */
// The root entry, the same in browsers and Node: the core entry's names, with a `SessionManager`
// that also takes backends by name and features by their plain options, and the password
// helpers. Hand-picked: internals (the deadline queue, the scheduler, the store guard, the log
// plumbing) stay out so they can change without a major. Stores are exported from their own
// subpaths (`sessionmanager-js/stores/memory`) so that a bundle keeps only the ones it imports.
// Which backends can be named is chosen by package condition (`#backends`): in Node the file,
// SQLite, PostgreSQL, Redis and Memcached stores too.

// Everything of the core but its `SessionManager`, which the one below replaces.
export * from "./core.ts";
export type { EncryptionOptions } from "./crypto/keys.ts";
export type { HashPasswordOptions } from "./crypto/password.ts";
export { hashPassword, verifyPassword } from "./crypto/password.ts";
export type { SessionManagerOptions } from "./options.ts";
export { SessionManager } from "./root-manager.ts";
export type { BackendName } from "./stores/backends.ts";
