import { describe, expect, it, vi } from "vitest";
import { serve } from "../../src/server/index.ts";
import { memoryStore } from "../../src/stores/memory.ts";
import type { SessionStore } from "../../src/stores/types.ts";
import { TIME_HEADER } from "../../src/sync/protocol.ts";
import { SECRET, token } from "./helpers.ts";

const auth = { secret: SECRET };

describe("serve", () => {
  it("serves the API over HTTP on a free port, and stops on close", async () => {
    const server = await serve({ backend: memoryStore(), auth, port: 0 });
    try {
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const headers = {
        authorization: `Bearer ${await token("alice")}`,
        "content-type": "application/json",
      };
      const put = await fetch(`${server.url}/v1/sessions/user123`, {
        method: "PUT",
        headers,
        body: JSON.stringify({ data: { name: "Ada" }, ttl: 60_000 }),
      });
      expect(put.status).toBe(201);
      expect(put.headers.get("etag")).toBe('"1"');
      expect(Number(put.headers.get(TIME_HEADER))).toBeGreaterThan(0);
      const got = await fetch(`${server.url}/v1/sessions/user123`, { headers });
      expect(((await got.json()) as { session: { data: unknown } }).session.data).toEqual({
        name: "Ada",
      });

      const big = await fetch(`${server.url}/v1/sessions/big`, {
        method: "PUT",
        headers,
        body: JSON.stringify({ data: "x".repeat(70_000) }),
      });
      expect(big.status).toBe(413);
      const unauthorized = await fetch(`${server.url}/v1/sessions`);
      expect(unauthorized.status).toBe(401);
    } finally {
      await server.close();
    }
    await expect(fetch(`${server.url}/v1/sessions`)).rejects.toThrow();
  });

  it("finishes the requests under way when closed, then closes the store", async () => {
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
    const server = await serve({ backend: store, auth, port: 0 });
    const pending = fetch(`${server.url}/v1/sessions/a`, {
      method: "PUT",
      headers: { authorization: `Bearer ${await token("alice")}` },
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const closing = server.close();
    release();
    expect((await pending).status).toBe(201);
    await closing;
    expect(close).toHaveBeenCalledOnce();
  });

  it("rejects a port in use, and a port that is not one", async () => {
    const first = await serve({ backend: memoryStore(), auth, port: 0 });
    try {
      const port = Number(new URL(first.url).port);
      await expect(serve({ backend: memoryStore(), auth, port })).rejects.toThrow(/EADDRINUSE/);
      await expect(serve({ backend: memoryStore(), auth, port: 70_000 })).rejects.toThrow(
        TypeError,
      );
    } finally {
      await first.close();
    }
  });
});
