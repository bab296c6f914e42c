// Issue 11, finding 11: a JWKS only over https (or to this machine), an audience required with
// a JWKS, remembered tokens bounded by the key set they were checked with, and maxTokenAge.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { main } from "../../src/server/cli.ts";
import { createSessionServer, type SessionServerOptions } from "../../src/server/index.ts";
import { memoryStore } from "../../src/stores/memory.ts";
import { call, SECRET, setup, token } from "../helpers/server.ts";

const now = () => Math.floor(Date.now() / 1000);
const make = (auth: SessionServerOptions["auth"]) => () =>
  createSessionServer({ backend: memoryStore(), auth, sweepInterval: 0 }).close();

afterEach(() => vi.useRealTimers());

describe("JWKS URL and audience at startup", () => {
  it.each([
    "http://id.example/jwks.json",
    "http://10.0.0.1/jwks.json",
    "http://127.0.0.1.nip.io/jwks.json",
    "ftp://id.example/jwks.json",
    "file:///etc/jwks.json",
    "not a url",
  ])("refuses the JWKS %s: https only, or http to this machine", (jwks) => {
    expect(make({ jwks, audience: "api" })).toThrow(TypeError);
    expect(make({ jwks, audience: "api" })).toThrow(
      /^auth\.jwks must be an https URL \(http only to 127\.0\.0\.1, ::1 or localhost\), got /,
    );
  });

  it("never quotes more of a refused URL than its origin", () => {
    expect(make({ jwks: "http://user:pw@id.example/jwks?key=secret", audience: "api" })).toThrow(
      /got http:\/\/id\.example$/,
    );
  });

  it.each([
    "https://id.example/.well-known/jwks.json",
    "http://127.0.0.1:8080/jwks.json",
    "http://[::1]:8080/jwks.json",
    "http://localhost:8080/jwks.json",
  ])("takes the JWKS %s", (jwks) => {
    expect(make({ jwks, audience: "api" })).not.toThrow();
  });

  it("requires an audience with a JWKS, unless anyAudience says tokens carry none", () => {
    const jwks = "https://id.example/jwks.json";
    expect(make({ jwks })).toThrow(/^auth\.audience is required with auth\.jwks/);
    expect(make({ jwks, issuer: "https://id.example" })).toThrow(/anyAudience: true/);
    expect(make({ jwks, anyAudience: false })).toThrow(TypeError);
    expect(make({ jwks, anyAudience: true })).not.toThrow();
    expect(make({ jwks, audience: ["api", "other"] })).not.toThrow();
    // A shared secret belongs to one app: no audience needed.
    expect(make({ secret: SECRET })).not.toThrow();
  });
});

describe("tokens remembered no longer than the key set they were checked with", () => {
  let issuer: Server;
  let jwksUrl: string;
  let published: JWK[] = [];
  let fetches = 0;
  let down = false;
  const keys: Record<string, CryptoKey> = {};

  beforeAll(async () => {
    for (const kid of ["k1", "k2"]) {
      const pair = await generateKeyPair("ES256");
      keys[kid] = pair.privateKey;
      published.push({ ...(await exportJWK(pair.publicKey)), kid, alg: "ES256", use: "sig" });
    }
    issuer = createServer((_, res) => {
      fetches++;
      if (down) return void res.writeHead(502).end();
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ keys: published }));
    });
    await new Promise<void>((resolve) => issuer.listen(0, "127.0.0.1", resolve));
    jwksUrl = `http://127.0.0.1:${(issuer.address() as AddressInfo).port}/jwks.json`;
  });
  afterAll(() => new Promise((resolve) => issuer.close(resolve)));

  const signed = (kid: string, sub = "alice") =>
    new SignJWT({ sub })
      .setProtectedHeader({ alg: "ES256", kid })
      .setAudience("api")
      .setIssuedAt()
      .setExpirationTime("2h")
      .sign(keys[kid] as CryptoKey);
  const status = async (server: ReturnType<typeof setup>["server"], bearer: string) =>
    (await call(server, null, "GET", "/v1/sessions", { token: bearer })).status;

  it("a token whose key the issuer removed is refused once the set is fetched again (10 minutes), not at its exp", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const { server } = setup({ auth: { jwks: jwksUrl, audience: "api" } });
    const old = await signed("k1");
    expect(await status(server, old)).toBe(200);
    expect(await status(server, old)).toBe(200);
    const before = fetches;
    // The issuer rotates k1 out; within jose's 10 minutes the set in use still has it.
    const all = published;
    published = all.filter((k) => k.kid !== "k1");
    vi.setSystemTime(Date.now() + 5 * 60_000);
    expect(await status(server, old)).toBe(200);
    vi.setSystemTime(Date.now() + 5 * 60_000 + 1_000);
    const reply = await call(server, null, "GET", "/v1/sessions", { token: old });
    expect(reply.status).toBe(401);
    expect(fetches).toBe(before + 1);
    // A token of the key still published goes on working.
    expect(await status(server, await signed("k2"))).toBe(200);
    published = all;
  });

  it("remembered tokens are checked again when a new key makes jose fetch the set early", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const all = published;
    published = all.filter((k) => k.kid === "k1");
    const { server } = setup({ auth: { jwks: jwksUrl, audience: "api" } });
    const old = await signed("k1");
    expect(await status(server, old)).toBe(200);
    expect(await status(server, old)).toBe(200);
    // The issuer swaps k1 for k2; past jose's 30 s cooldown, a k2 token makes it fetch the set.
    published = all.filter((k) => k.kid === "k2");
    vi.setSystemTime(Date.now() + 31_000);
    expect(await status(server, await signed("k2"))).toBe(200);
    expect(await status(server, old)).toBe(401);
    published = all;
  });

  it("stand while the key set cannot be fetched, until a fetched set lacks their key", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const { server } = setup({ auth: { jwks: jwksUrl, audience: "api" } });
    const seen = await signed("k1");
    expect(await status(server, seen)).toBe(200);
    expect(await status(server, seen)).toBe(200);
    down = true;
    vi.setSystemTime(Date.now() + 10 * 60_000 + 1_000);
    // The set is stale and cannot be fetched: a token checked with it stands, a new one cannot be checked.
    expect(await status(server, seen)).toBe(200);
    expect(await status(server, await signed("k1", "bob"))).toBe(503);
    // The issuer is back without k1: refused, and not taken again in the next outage.
    down = false;
    const all = published;
    published = all.filter((k) => k.kid !== "k1");
    expect(await status(server, seen)).toBe(401);
    down = true;
    vi.setSystemTime(Date.now() + 10 * 60_000 + 1_000);
    // Forgotten when refused: now it cannot be checked (503), and is not taken on trust.
    expect(await status(server, seen)).toBe(503);
    down = false;
    published = all;
  });
});

describe("maxTokenAge", () => {
  it("refuses tokens issued longer ago, and tokens without iat", async () => {
    const { server } = setup({ auth: { secret: SECRET, maxTokenAge: "5m" } });
    const fresh = await token("alice");
    expect((await call(server, null, "GET", "/v1/sessions", { token: fresh })).status).toBe(200);
    const key = new TextEncoder().encode(SECRET);
    const old = await new SignJWT({ sub: "alice" })
      .setProtectedHeader({ alg: "HS256" })
      .setIssuedAt(now() - 600)
      .setExpirationTime(now() + 3600)
      .sign(key);
    const tooOld = await call(server, null, "GET", "/v1/sessions", { token: old });
    expect(tooOld.status).toBe(401);
    expect(tooOld.body.error.message).toBe("token too old");
    const noIat = await new SignJWT({ sub: "alice" })
      .setProtectedHeader({ alg: "HS256" })
      .setExpirationTime(now() + 3600)
      .sign(key);
    const missing = await call(server, null, "GET", "/v1/sessions", { token: noIat });
    expect(missing.status).toBe(401);
    expect(missing.body.error.message).toMatch(/"iat" claim/);
  });

  it("a remembered token is refused once it passes maxTokenAge, before its exp", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const { server } = setup({ auth: { secret: SECRET, maxTokenAge: "5m" } });
    const bearer = await token("alice");
    expect((await call(server, null, "GET", "/v1/sessions", { token: bearer })).status).toBe(200);
    vi.setSystemTime(Date.now() + 4 * 60_000);
    expect((await call(server, null, "GET", "/v1/sessions", { token: bearer })).status).toBe(200);
    vi.setSystemTime(Date.now() + 2 * 60_000);
    const late = await call(server, null, "GET", "/v1/sessions", { token: bearer });
    expect(late.status).toBe(401);
    expect(late.body.error.message).toBe("token too old");
  });

  it("refuses a maxTokenAge that is not a duration at once", () => {
    expect(make({ secret: SECRET, maxTokenAge: "soon" as never })).toThrow(
      'auth.maxTokenAge must be a positive duration, got "soon"',
    );
  });
});

describe("the serve command's auth flags", () => {
  /** Runs `serve` in-process until it listens (then stops it) or fails: its exit code and stderr. */
  async function serve(args: string[]): Promise<{ code: number; err: string; out: string }> {
    const out: string[] = [];
    const err: string[] = [];
    const stop = new AbortController();
    const io = {
      stdout: { write: (text: string) => out.push(text) },
      stderr: { write: (text: string) => err.push(text) },
      env: {},
      signal: stop.signal,
    };
    const code = main(["serve", "--backend", "memory", "--port", "0", ...args], io);
    const deadline = Date.now() + 5000;
    let done = false;
    void code.then(() => {
      done = true;
    });
    while (!done && !out.join("").includes("listening on") && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    stop.abort();
    return { code: await code, err: err.join(""), out: out.join("") };
  }

  it("refuses --jwks over http off this machine, and --jwks without --audience", async () => {
    const http = await serve(["--jwks", "http://id.example/jwks.json", "--audience", "api"]);
    expect(http.code).toBe(2);
    expect(http.err).toContain("auth.jwks must be an https URL");
    const noAudience = await serve(["--jwks", "https://id.example/jwks.json"]);
    expect(noAudience.code).toBe(2);
    expect(noAudience.err).toContain("auth.audience is required with auth.jwks");
  });

  it("takes --any-audience and --max-token-age", async () => {
    const any = await serve(["--jwks", "https://id.example/jwks.json", "--any-audience"]);
    expect(any.out).toContain("listening on");
    expect(any.code).toBe(0);
    const aged = await serve(["--secret", SECRET, "--max-token-age", "1h"]);
    expect(aged.out).toContain("listening on");
    const bad = await serve(["--secret", SECRET, "--max-token-age", "soon"]);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('--max-token-age must be a positive duration, got "soon"');
  });
});
