// What the cookie-session tests share: a browser-like cookie jar over fetch (it keeps what
// Set-Cookie says, sends it back, and lets a test edit it as an attacker would), a parser for
// Set-Cookie attributes, and a memory store that can be taken down and brought back.
import { expect } from "vitest";
import { memoryStore } from "../../src/stores/memory.ts";
import type { SessionStore } from "../../src/stores/types.ts";

export const SECRET = "a cookie secret of thirty-two characters or more!";
export const OTHER_SECRET = "another cookie secret, also thirty-two characters+";

/** One Set-Cookie header: its name, value and attributes (names lower-cased). */
export interface SetCookie {
  name: string;
  value: string;
  attributes: Record<string, string | true>;
}

export function parseSetCookie(header: string): SetCookie {
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

/** A browser's cookie jar for one site, reduced to what the tests need. */
export class Browser {
  readonly cookies = new Map<string, string>();
  /** The Set-Cookie headers of the last response. */
  last: SetCookie[] = [];

  constructor(readonly origin: string) {}

  async fetch(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    const cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join("; ");
    if (cookie) headers.set("cookie", cookie);
    // As a browser does for every request but GET and HEAD (the Fetch standard's Origin rules).
    const method = init.method ?? "GET";
    if (!["GET", "HEAD"].includes(method) && !headers.has("origin"))
      headers.set("origin", this.origin);
    const response = await fetch(`${this.origin}${path}`, { ...init, headers });
    this.last = response.headers.getSetCookie().map(parseSetCookie);
    for (const { name, value, attributes } of this.last) {
      if (attributes["max-age"] === "0") this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return response;
  }

  /** The response's JSON body, after checking its status. */
  async json<T = Record<string, unknown>>(
    path: string,
    init?: RequestInit,
    status = 200,
  ): Promise<T> {
    const response = await this.fetch(path, init);
    const body = await response.text();
    expect(response.status, body).toBe(status);
    return JSON.parse(body) as T;
  }

  post<T = Record<string, unknown>>(path: string, body?: unknown, status = 200): Promise<T> {
    const init: RequestInit = { method: "POST" };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers = { "content-type": "application/json" };
    }
    return this.json<T>(path, init, status);
  }

  /** A copy of this jar: another tab, or an attacker who stole the cookie. */
  clone(): Browser {
    const copy = new Browser(this.origin);
    for (const [name, value] of this.cookies) copy.cookies.set(name, value);
    return copy;
  }
}

/** A memory store that fails every call while `down` is true (as a service that went away). */
export function flakyStore(): { store: SessionStore; setDown(down: boolean): void } {
  const inner = memoryStore({ namespace: "cookies" });
  let down = false;
  const store = new Proxy(inner, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver);
      if (typeof value !== "function" || key === "close") return value;
      return (...args: unknown[]) => {
        if (down) return Promise.reject(new Error("connection refused"));
        return value.apply(target, args);
      };
    },
  });
  return { store, setDown: (value) => (down = value) };
}

/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms));
