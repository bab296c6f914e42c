/**
 * A new random session id: 128 bits from `crypto.getRandomValues`, base64url (22 characters).
 * Use it for ids that act as secrets, such as the value of a session cookie.
 * @example
 * await sm.add(createSessionId(), { data: { user: "ada" } })
 */
export function createSessionId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
