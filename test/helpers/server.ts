import { SignJWT } from "jose";
import { afterEach, type Mock, vi } from "vitest";
import {
  createSessionServer,
  type SessionServer,
  type SessionServerOptions,
} from "../../src/server/index.ts";
import { memoryStore } from "../../src/stores/memory.ts";
import type { SessionStore } from "../../src/stores/types.ts";

export const SECRET = "test-secret-that-is-long-enough-32+";
const key = new TextEncoder().encode(SECRET);

export interface TokenOptions {
  sub?: string | null;
  secret?: Uint8Array;
  alg?: string;
  /** Expiry, epoch seconds; default an hour from now. */
  exp?: number;
  iss?: string;
  aud?: string;
}

/** An HS256 token for `sub` signed with `SECRET` (or as `options` say). */
export async function token(sub: string | null, options: TokenOptions = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT(sub === null ? {} : { sub })
    .setProtectedHeader({ alg: options.alg ?? "HS256" })
    .setIssuedAt(now)
    .setExpirationTime(options.exp ?? now + 3600);
  if (options.iss) jwt.setIssuer(options.iss);
  if (options.aud) jwt.setAudience(options.aud);
  return jwt.sign(options.secret ?? key);
}

/** An unsigned token (`alg: none`), which must never be accepted. */
export function unsignedToken(sub: string): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const exp = Math.floor(Date.now() / 1000) + 3600;
  return `${part({ alg: "none" })}.${part({ sub, exp })}.`;
}

/** What a response carried, with its JSON body parsed. */
// biome-ignore lint/suspicious/noExplicitAny: tests read bodies by path; src checks the types.
export interface Reply<B = any> {
  status: number;
  headers: Headers;
  body: B;
}

export interface RequestOptions {
  body?: unknown;
  /** Sent as is (not JSON-encoded). */
  raw?: BodyInit;
  headers?: Record<string, string>;
  token?: string | null;
}

/** Sends one request to `server` as `sub` (or with `options.token`). */
export async function call(
  server: SessionServer,
  sub: string | null,
  method: string,
  path: string,
  options: RequestOptions = {},
): Promise<Reply> {
  const headers = new Headers(options.headers);
  const bearer = options.token !== undefined ? options.token : sub && (await token(sub));
  if (bearer) headers.set("authorization", `Bearer ${bearer}`);
  let body: BodyInit | undefined = options.raw;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers.set("content-type", "application/json");
  }
  // `duplex` is required (by Node's fetch) for a stream body.
  const init: RequestInit & { duplex?: "half" } = { method, headers, duplex: "half" };
  if (body !== undefined) init.body = body;
  const response = await server.fetch(new Request(`http://sessions.test${path}`, init));
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: text ? JSON.parse(text) : undefined,
  };
}

/** A client bound to one server and owner. */
export interface Client {
  get(path: string, options?: RequestOptions): Promise<Reply>;
  put(path: string, body?: unknown, options?: RequestOptions): Promise<Reply>;
  post(path: string, body?: unknown, options?: RequestOptions): Promise<Reply>;
  delete(path: string, options?: RequestOptions): Promise<Reply>;
}

export function client(server: SessionServer, sub: string): Client {
  return {
    get: (path, options) => call(server, sub, "GET", path, options),
    put: (path, body, options) => call(server, sub, "PUT", path, { ...options, body }),
    post: (path, body, options) => call(server, sub, "POST", path, { ...options, body }),
    delete: (path, options) => call(server, sub, "DELETE", path, options),
  };
}

const open: SessionServer[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((server) => server.close()));
});

/** A server on a memory store (or `store`), closed after the test. */
export function setup(
  options: Partial<SessionServerOptions> = {},
  store: SessionStore = memoryStore(),
): { server: SessionServer; store: SessionStore; alice: Client; bob: Client } {
  const server = createSessionServer({ backend: store, auth: { secret: SECRET }, ...options });
  open.push(server);
  return { server, store, alice: client(server, "alice"), bob: client(server, "bob") };
}

/**
 * A memory store whose reads wait until `release()`: a request under way for as long as a test
 * needs. `close` is a spy.
 */
export function gatedStore(): { store: SessionStore; release: () => void; close: Mock } {
  const inner = memoryStore();
  let release = () => {};
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const close = vi.fn();
  const store: SessionStore = {
    ...inner,
    get: async (id) => {
      await gate;
      return inner.get(id);
    },
    close,
  };
  return { store, release, close };
}
