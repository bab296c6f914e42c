/**
 * Encryption at rest for a `sessionmanager-js/core` manager ({@link encryption}), and the password
 * helpers {@link hashPassword} and {@link verifyPassword}.
 * @packageDocumentation
 */
// The `sessionmanager-js/crypto` entry: encryption at rest for a core manager, and the password
// helpers. Hand-picked: pbkdf2Sha256 and constantTimeEqual are internals (shared with the tests
// and the passphrase keys) and stay out of the shipped types.
import type { Encryption } from "../options.ts";
import { createCodec } from "./codec.ts";
import type { EncryptionOptions } from "./keys.ts";

export type { Encryption } from "../options.ts";
export type { EncryptionOptions } from "./keys.ts";
export type { HashPasswordOptions } from "./password.ts";
export { hashPassword, verifyPassword } from "./password.ts";

/**
 * Encryption at rest for `new SessionManager({ encryption })` of `sessionmanager-js/core`: the
 * same options as the root entry's `encryption` (`{ key }`, `{ keys }`, `{ passphrase }`, `true`).
 * @example
 * new SessionManager({ backend: indexedDBStore(), encryption: encryption({ passphrase }) });
 */
export function encryption(options: EncryptionOptions): Encryption {
  return { open: (store, namespace) => createCodec(options, store, namespace) };
}
