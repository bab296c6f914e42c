import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSessionServer } from "../../src/server/index.ts";
import { memoryStore } from "../../src/stores/memory.ts";
import { call, SECRET, setup, token, unsignedToken } from "../helpers/server.ts";

const now = () => Math.floor(Date.now() / 1000);

describe("bearer tokens", () => {
  it("401 UNAUTHORIZED with WWW-Authenticate: Bearer without a token", async () => {
    const { server } = setup();
    for (const headers of [
      {},
      { authorization: "Basic YWxpY2U6cHc=" },
      { authorization: "Bearer" },
    ]) {
      const reply = await call(server, null, "GET", "/v1/sessions", { headers });
      expect(reply.status).toBe(401);
      expect(reply.body.error.code).toBe("UNAUTHORIZED");
      expect(reply.headers.get("www-authenticate")).toMatch(/^Bearer realm="sessionmanager"/);
    }
    const none = await call(server, null, "GET", "/v1/sessions");
    expect(none.headers.get("www-authenticate")).toBe('Bearer realm="sessionmanager"');
    expect(none.body.error.message).toBe("missing bearer token");
  });

  const refused: [string, () => Promise<string> | string][] = [
    [
      "a wrong signature",
      () => token("alice", { secret: new TextEncoder().encode("x".repeat(40)) }),
    ],
    ["an expired token", () => token("alice", { exp: now() - 10 })],
    ["alg none", () => unsignedToken("alice")],
    ["HS512 when HS256 is pinned", () => token("alice", { alg: "HS512" })],
    ["no sub", () => token(null)],
    ["an empty sub", () => token("")],
    ["a sub over 256 characters", () => token("a".repeat(257))],
    ["garbage", () => "not.a.jwt"],
  ];
  it.each(refused)("401 for %s, and nothing is written", async (_, make) => {
    const { server, store } = setup();
    const bearer = await make();
    const reply = await call(server, null, "PUT", "/v1/sessions/a", {
      token: bearer,
      body: { data: 1 },
    });
    expect(reply.status).toBe(401);
    expect(reply.body.error.code).toBe("UNAUTHORIZED");
    expect(reply.headers.get("www-authenticate")).toBe(
      'Bearer realm="sessionmanager", error="invalid_token"',
    );
    expect(reply.body.error.message).not.toContain(SECRET);
    expect(await store.list()).toEqual([]);
  });

  it("refuses a token without exp", async () => {
    const { server } = setup();
    const forever = await new SignJWT({ sub: "alice" })
      .setProtectedHeader({ alg: "HS256" })
      .sign(new TextEncoder().encode(SECRET));
    const reply = await call(server, null, "GET", "/v1/sessions", { token: forever });
    expect(reply.status).toBe(401);
    expect(reply.body.error.message).toMatch(/"exp" claim/);
  });

  it("remembers a token it accepted only until the token expires", async () => {
    const { server } = setup();
    const soon = await token("alice", { exp: now() + 1 });
    expect((await call(server, null, "GET", "/v1/sessions", { token: soon })).status).toBe(200);
    expect((await call(server, null, "GET", "/v1/sessions", { token: soon })).status).toBe(200);
    // Past its exp (whole seconds, so up to 2 s), the remembered check no longer counts.
    await new Promise((done) => setTimeout(done, 2100));
    const late = await call(server, null, "GET", "/v1/sessions", { token: soon });
    expect(late.status).toBe(401);
    expect(late.body.error.message).toBe("token expired");
  });

  it("says when a token has expired", async () => {
    const { server } = setup();
    const reply = await call(server, null, "GET", "/v1/sessions", {
      token: await token("alice", { exp: now() - 10 }),
    });
    expect(reply.body.error.message).toBe("token expired");
  });

  it("checks the issuer and the audience when configured", async () => {
    const { server } = setup({
      auth: { secret: SECRET, issuer: "https://id.example", audience: "sessions" },
    });
    const ok = await token("alice", { iss: "https://id.example", aud: "sessions" });
    expect((await call(server, null, "GET", "/v1/sessions", { token: ok })).status).toBe(200);
    for (const bad of [
      await token("alice", { iss: "https://evil.example", aud: "sessions" }),
      await token("alice", { iss: "https://id.example", aud: "other" }),
      await token("alice"),
    ]) {
      expect((await call(server, null, "GET", "/v1/sessions", { token: bad })).status).toBe(401);
    }
  });

  it("accepts the algorithms it is given, and a Uint8Array secret", async () => {
    const secret = new Uint8Array(64).fill(7);
    const { server } = setup({ auth: { secret, algorithms: ["HS512"] } });
    const hs512 = await token("alice", { alg: "HS512", secret });
    expect((await call(server, null, "GET", "/v1/sessions", { token: hs512 })).status).toBe(200);
    const hs256 = await token("alice", { secret });
    expect((await call(server, null, "GET", "/v1/sessions", { token: hs256 })).status).toBe(401);
  });

  it("refuses weak or mismatched auth options at once", () => {
    const make = (auth: Parameters<typeof createSessionServer>[0]["auth"]) => () =>
      createSessionServer({ backend: memoryStore(), auth, sweepInterval: 0 });
    expect(make({ secret: "short" })).toThrow(/at least 32 bytes, got 5/);
    expect(make({ secret: SECRET, algorithms: ["none"] })).toThrow(TypeError);
    expect(make({ secret: SECRET, algorithms: ["RS256"] })).toThrow(/HS256/);
    expect(make({ secret: SECRET, algorithms: [] })).toThrow(TypeError);
    expect(
      make({ jwks: "https://id.example/jwks.json", audience: "a", algorithms: ["HS256"] }),
    ).toThrow(/RS256/);
  });
});

describe("JWKS", () => {
  let jwksServer: Server;
  let jwksUrl: string;
  let privateKey: CryptoKey;

  beforeAll(async () => {
    const pair = await generateKeyPair("ES256");
    privateKey = pair.privateKey;
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: "k1", alg: "ES256", use: "sig" };
    jwksServer = createServer((_, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((resolve) => jwksServer.listen(0, "127.0.0.1", resolve));
    jwksUrl = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/jwks.json`;
  });
  afterAll(() => new Promise((resolve) => jwksServer.close(resolve)));

  const es256 = (sub: string) =>
    new SignJWT({ sub })
      .setProtectedHeader({ alg: "ES256", kid: "k1" })
      .setAudience("sessions")
      .setExpirationTime("1h")
      .sign(privateKey);

  it("accepts a token signed by a key of the set, and refuses an HS256 one", async () => {
    const { server } = setup({ auth: { jwks: jwksUrl, audience: "sessions" } });
    const ok = await call(server, null, "PUT", "/v1/sessions/a", { token: await es256("alice") });
    expect(ok.status).toBe(201);
    const hs = await call(server, null, "GET", "/v1/sessions", { token: await token("alice") });
    expect(hs.status).toBe(401);
  });

  it("503 (not 401) when the key set cannot be fetched", async () => {
    const { server } = setup({
      auth: { jwks: "http://127.0.0.1:1/jwks.json", audience: "sessions" },
    });
    const reply = await call(server, null, "GET", "/v1/sessions", { token: await es256("alice") });
    expect(reply.status).toBe(503);
    expect(reply.body.error.code).toBe("BACKEND_UNAVAILABLE");
  });
});
