// The session id a request's Cookie header carries, remembered by the whole header: a browser
// sends the same header on every request until a cookie changes, and finding the id in it again
// (splitting the header, URI-decoding the signed value) costs more than the rest of a load once the
// signature's check is remembered (signing.ts).
import { readCookie } from "./cookie.ts";
import type { Signer } from "./signing.ts";

/** Headers remembered per cookie name, at most (the oldest go first). */
const HEADERS_KEPT = 1000;
/** Longer headers are read every time: what is remembered stays under ~4 MB per cookie name. */
const LONGEST_KEPT = 4096;

/** What a Cookie header holds for one cookie name: its value, and the id it signs if it verified. */
export interface CookieId {
  /** The cookie's value, undefined when the header has none. */
  value: string | undefined;
  /** The id it was signed for, undefined when it has none or did not verify. */
  id: string | undefined;
}

const NONE: CookieId = Object.freeze({ value: undefined, id: undefined });

/** Reads signed ids from Cookie headers, remembering the headers whose id verified. */
export function cookieIds(
  signer: Signer,
): (header: string | undefined, name: string) => Promise<CookieId> | CookieId {
  const known = new Map<string, Map<string, CookieId>>();
  const verify = async (header: string, name: string, value: string): Promise<CookieId> => {
    const id = signer.verified(value) ?? (await signer.verify(value));
    const found = { value, id };
    // Only a verified value is remembered: a forged one is checked again on every request.
    if (id !== undefined && header.length <= LONGEST_KEPT) {
      const headers = known.get(name) ?? new Map<string, CookieId>();
      known.set(name, headers);
      if (headers.size >= HEADERS_KEPT) headers.delete(headers.keys().next().value as string);
      headers.set(header, found);
    }
    return found;
  };
  return (header, name) => {
    if (header === undefined) return NONE;
    const remembered = known.get(name)?.get(header);
    if (remembered) return remembered;
    const value = readCookie(header, name);
    return value === undefined ? NONE : verify(header, name, value);
  };
}
