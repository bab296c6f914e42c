// The `sessionmanager/crypto` entry. Hand-picked: pbkdf2Sha256 and constantTimeEqual are internals
// (shared with the tests and the coming passphrase encryption) and stay out of the shipped types.
export type { HashPasswordOptions } from "./password.ts";
export { hashPassword, verifyPassword } from "./password.ts";
