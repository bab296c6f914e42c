import { describe, expect, it } from "vitest";
import { type ErrorBody, TIME_HEADER } from "../../src/protocol.ts";
import { serve } from "../../src/server/index.ts";
import { memoryStore } from "../../src/stores/memory.ts";
import { gatedStore, SECRET, token } from "../helpers/server.ts";

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

  it("reads bodies sent with a Content-Length or chunked, and counts both against the limit", async () => {
    const server = await serve({ backend: memoryStore(), auth, port: 0, limits: { body: 1000 } });
    try {
      const authorization = `Bearer ${await token("alice")}`;
      const send = (method: string, path: string, body: BodyInit) =>
        fetch(`${server.url}${path}`, {
          method,
          headers: { authorization, "content-type": "application/json" },
          body,
          duplex: "half",
        } as RequestInit);
      // A stream body goes out chunked, without a Content-Length.
      const chunked = (text: string) =>
        new ReadableStream({
          start(controller) {
            const bytes = new TextEncoder().encode(text);
            controller.enqueue(bytes.subarray(0, 10));
            controller.enqueue(bytes.subarray(10));
            controller.close();
          },
        });
      const big = JSON.stringify({ data: "x".repeat(2000) });
      const put = await send("PUT", "/v1/sessions/a", chunked(JSON.stringify({ data: { n: 1 } })));
      expect(put.status).toBe(201);
      const touched = await send("POST", "/v1/sessions/a/touch", JSON.stringify({ ttl: 60_000 }));
      expect(touched.status).toBe(200);
      expect(((await touched.json()) as { session: { version: number } }).session.version).toBe(2);
      const declared = await send("PUT", "/v1/sessions/b", big);
      expect(declared.status).toBe(413);
      expect(((await declared.json()) as ErrorBody).error.message).toMatch(/got \d+$/);
      const streamed = await send("PUT", "/v1/sessions/b", chunked(big));
      expect(streamed.status).toBe(413);
      expect(((await streamed.json()) as ErrorBody).error.message).toMatch(/more than 1000$/);
    } finally {
      await server.close();
    }
  });

  it("finishes the requests under way when closed, then closes the store", async () => {
    const { store, release, close } = gatedStore();
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

  it("ends open event streams on close instead of waiting out the grace period for them", async () => {
    const server = await serve({ backend: memoryStore(), auth: { secret: SECRET }, port: 0 });
    const response = await fetch(`${server.url}/v1/events`, {
      headers: { authorization: `Bearer ${await token("alice")}` },
    });
    expect(response.status).toBe(200);
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    await reader.read(); // the `ready` event: the stream is open
    // Closing waited 10 s for the open stream before; the test's 5 s timeout fails that.
    await server.close();
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
      // what was sent before the end
    }
  }, 5000);

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
