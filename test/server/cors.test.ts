import { describe, expect, it, vi } from "vitest";
import { TIME_HEADER } from "../../src/protocol.ts";
import { call, setup } from "../helpers/server.ts";

const ALLOWED = "https://app.example";

function preflight(origin: string, method = "PUT") {
  return new Request("http://sessions.test/v1/sessions/a", {
    method: "OPTIONS",
    headers: {
      origin,
      "access-control-request-method": method,
      "access-control-request-headers": "authorization, content-type, if-match",
    },
  });
}

describe("CORS", () => {
  it("answers a preflight from a listed origin with the methods and headers the API uses", async () => {
    const { server } = setup({ cors: { origins: [ALLOWED, "https://b.example"] } });
    const response = await server.fetch(preflight(ALLOWED));
    expect(response.status).toBe(204);
    expect(response.headers.get("access-control-allow-origin")).toBe(ALLOWED);
    expect(response.headers.get("access-control-allow-methods")).toContain("PUT");
    const allowed = response.headers.get("access-control-allow-headers")?.toLowerCase();
    for (const header of ["authorization", "content-type", "if-match", "if-none-match"]) {
      expect(allowed).toContain(header);
    }
    expect(response.headers.get("vary")).toContain("Origin");
    expect(response.headers.get(TIME_HEADER)).toMatch(/^\d+$/);
  });

  it("gives an unlisted origin no CORS headers, on preflights and requests alike", async () => {
    const { server } = setup({ cors: { origins: [ALLOWED] } });
    const denied = await server.fetch(preflight("https://evil.example"));
    expect(denied.status).toBe(403);
    expect(denied.headers.get("access-control-allow-origin")).toBeNull();
    const reply = await call(server, "alice", "GET", "/v1/sessions", {
      headers: { origin: "https://evil.example" },
    });
    expect(reply.status).toBe(200);
    expect(reply.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("lets a listed origin read the response, ETag and clock included, errors too", async () => {
    const { server } = setup({ cors: { origins: [ALLOWED] } });
    for (const sub of ["alice", null]) {
      const reply = await call(server, sub, "PUT", "/v1/sessions/a", {
        headers: { origin: ALLOWED },
      });
      expect(reply.headers.get("access-control-allow-origin")).toBe(ALLOWED);
      const exposed = reply.headers.get("access-control-expose-headers")?.toLowerCase();
      expect(exposed).toContain("etag");
      expect(exposed).toContain(TIME_HEADER);
    }
  });

  it("sends no CORS headers at all by default (same origin only)", async () => {
    const { server } = setup();
    const response = await server.fetch(preflight(ALLOWED));
    expect(response.status).toBe(403);
    expect(response.headers.get("access-control-allow-origin")).toBeNull();
    const reply = await call(server, "alice", "GET", "/v1/sessions", {
      headers: { origin: ALLOWED },
    });
    expect(reply.headers.get("access-control-allow-origin")).toBeNull();
  });

  it('lets any origin in with "*"', async () => {
    const { server } = setup({ cors: { origins: ["*"] } });
    const response = await server.fetch(preflight("https://any.example"));
    expect(response.headers.get("access-control-allow-origin")).toBe("*");
  });

  it("answers preflights before the token check, and logs a refusal as CORS, not as a token", async () => {
    for (const cors of [{ origins: [ALLOWED] }, undefined]) {
      const logger = { debug: vi.fn(), info: vi.fn(), warn: vi.fn(), error: vi.fn() };
      const { server } = setup({ ...(cors && { cors }), logger, logLevel: "debug" });
      // No Authorization header: a browser never sends one with a preflight.
      const denied = await server.fetch(preflight("https://evil.example"));
      expect(denied.status).toBe(403);
      expect(denied.headers.get("www-authenticate")).toBeNull();
      const body = await denied.json();
      expect(body.error.code).toBe("FORBIDDEN");
      expect(body.error.message).toContain("https://evil.example");
      const warned = logger.warn.mock.calls.map(([line]) => String(line));
      expect(warned).toEqual([
        expect.stringMatching(/CORS preflight refused: origin https:\/\/evil\.example/),
      ]);
      const logged = Object.values(logger).flatMap((fn) => fn.mock.calls.map(([line]) => line));
      expect(logged.join("\n")).not.toMatch(/token|401/i);
      if (cors) {
        const allowed = await server.fetch(preflight(ALLOWED, "DELETE"));
        expect(allowed.status).toBe(204);
        expect(allowed.headers.get("access-control-allow-origin")).toBe(ALLOWED);
      }
    }
  });
});
