// The cookie-session check every framework app passes (Next.js, Nuxt, SvelteKit): over real HTTP
// against the built app's server, a browser-like cookie jar signs in (a fresh id: rotate), reads
// the session back on the next request, signs in again (the old id stops working), shrugs off a
// tampered cookie, and signs out (the cookie cleared, a copy of it worthless).
import { expect } from "vitest";
import type { Server } from "./helpers.ts";
import { unstack } from "./workspace.ts";

interface Account {
  user: string;
  framework: string;
}

/** One Set-Cookie header: name, value, attributes (names lower-cased). */
interface SetCookie {
  name: string;
  value: string;
  attributes: Record<string, string | true>;
}

function parseSetCookie(header: string): SetCookie {
  const [pair = "", ...rest] = header.split(";").map((part) => part.trim());
  const eq = pair.indexOf("=");
  const attributes: Record<string, string | true> = {};
  for (const part of rest) {
    const at = part.indexOf("=");
    if (at < 0) attributes[part.toLowerCase()] = true;
    else attributes[part.slice(0, at).toLowerCase()] = part.slice(at + 1);
  }
  return { name: pair.slice(0, eq), value: pair.slice(eq + 1), attributes };
}

/** A browser's jar for the app: sends its cookies, keeps what Set-Cookie says. */
class Jar {
  readonly cookies = new Map<string, string>();
  last: SetCookie[] = [];

  constructor(
    private readonly server: Server,
    private readonly path: string,
  ) {}

  async call(method: string, body?: object): Promise<Account | null> {
    const headers: Record<string, string> = {};
    if (this.cookies.size > 0) {
      headers.cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join("; ");
    }
    if (body) headers["content-type"] = "application/json";
    const response = await fetch(`${this.server.url}${this.path}`, {
      method,
      headers,
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const text = await response.text();
    const why = unstack(
      `${method} ${this.path} answered ${response.status}: ${text.slice(0, 1500)}\n` +
        `server log (end): ${this.server.output().slice(-1500)}`,
    );
    expect(response.status, why).toBe(200);
    // Only this app's session cookie: frameworks may add their own.
    this.last = response.headers
      .getSetCookie()
      .map(parseSetCookie)
      .filter(({ name }) => name.endsWith("sid"));
    for (const { name, value, attributes } of this.last) {
      if (attributes["max-age"] === "0" || value === "") this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return (JSON.parse(text) as { account: Account | null }).account;
  }

  copy(): Jar {
    const jar = new Jar(this.server, this.path);
    for (const [name, value] of this.cookies) jar.cookies.set(name, value);
    return jar;
  }
}

/**
 * Signs in, reads back, signs in again, tampers, and signs out through `path` (GET: who is
 * signed in, POST { user }: sign in, DELETE: sign out) of the app `framework` runs on `server`.
 */
export async function expectCookieSessions(
  server: Server,
  path: string,
  framework: string,
): Promise<void> {
  const browser = new Jar(server, path);
  expect(await browser.call("GET"), "no session before signing in").toBeNull();
  expect(browser.last).toEqual([]);

  const ada = { user: "ada", framework };
  expect(await browser.call("POST", { user: "ada" })).toEqual(ada);
  expect(browser.last).toHaveLength(1);
  const [cookie] = browser.last as [SetCookie];
  expect(cookie.name).toBe("__Host-sid");
  expect(cookie.attributes).toMatchObject({ httponly: true, secure: true, path: "/" });
  expect(String(cookie.attributes.samesite).toLowerCase()).toBe("lax");
  expect(Number(cookie.attributes["max-age"])).toBeGreaterThan(3600);
  expect(decodeURIComponent(cookie.value)).toMatch(/^[\w-]{22}\.[A-Za-z0-9+/]{43}=$/);

  // The next request reads it back; nothing changed, so no Set-Cookie.
  expect(await browser.call("GET")).toEqual(ada);
  expect(browser.last).toEqual([]);

  // Signing in again moves the session to a fresh id: a copy of the old cookie is worthless.
  const before = browser.copy();
  expect(await browser.call("POST", { user: "grace" })).toEqual({ user: "grace", framework });
  expect(browser.cookies.get("__Host-sid")).not.toBe(before.cookies.get("__Host-sid"));
  expect(await before.call("GET")).toBeNull();
  expect(before.last[0]?.attributes["max-age"], "the stale cookie is removed").toBe("0");
  expect(await browser.call("GET")).toEqual({ user: "grace", framework });

  // A cookie edited by hand is no session.
  const forged = browser.copy();
  const value = decodeURIComponent(forged.cookies.get("__Host-sid") ?? "");
  const edited = `${value.slice(0, 21)}${value[21] === "x" ? "y" : "x"}${value.slice(22)}`;
  forged.cookies.set("__Host-sid", encodeURIComponent(edited));
  expect(await forged.call("GET")).toBeNull();

  // Signing out clears the cookie and ends the session for every copy of it.
  const stolen = browser.copy();
  expect(await browser.call("DELETE")).toBeNull();
  expect(browser.last[0]?.attributes["max-age"]).toBe("0");
  expect(browser.cookies.size).toBe(0);
  expect(await stolen.call("GET")).toBeNull();
  expect(await browser.call("GET")).toBeNull();
}

/**
 * Next.js's proxy (middleware) with cookie sessions: /members/area redirects to /members/login
 * without a session, POST /members/login signs in (its redirect carries the cookie),
 * /members/area then lets the request through to the route with the member's name, and
 * /members/logout clears the cookie, after which a copy of it is turned away again.
 */
export async function expectProxySessions(server: Server): Promise<void> {
  const call = async (path: string, cookie?: string, method = "GET") => {
    const response = await fetch(`${server.url}${path}`, {
      method,
      redirect: "manual",
      headers: cookie ? { cookie } : {},
    });
    const why = `${method} ${path}: ${response.status}\nserver log (end): ${server.output().slice(-1500)}`;
    const [setCookie] = response.headers.getSetCookie().map(parseSetCookie);
    return { response, setCookie, why, text: await response.text() };
  };
  const anonymous = await call("/members/area");
  expect(anonymous.response.status, anonymous.why).toBe(307);
  expect(anonymous.response.headers.get("location")).toMatch(/\/members\/login$/);

  const login = await call("/members/login", undefined, "POST");
  expect(login.response.status, login.why).toBe(303);
  expect(login.setCookie).toMatchObject({ name: "__Host-members", attributes: { httponly: true } });
  const cookie = `__Host-members=${login.setCookie?.value}`;

  const member = await call("/members/area", cookie);
  expect(member.response.status, member.why).toBe(200);
  expect(member.text).toBe("members only");
  expect(member.response.headers.get("x-member")).toBe("ada");
  expect(member.setCookie, "nothing changed: no Set-Cookie").toBeUndefined();

  const logout = await call("/members/logout", cookie);
  expect(logout.response.status, logout.why).toBe(303);
  expect(logout.setCookie?.attributes["max-age"]).toBe("0");
  expect((await call("/members/area", cookie)).response.status).toBe(307);
}
