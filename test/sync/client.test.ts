import { createServer, type Socket } from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import { BackendError } from "../../src/errors.ts";
import { RemoteClient } from "../../src/sync/client.ts";

/** A port nothing listens on: bound once to learn a free one, then closed. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const warnings: Error[] = [];
const onWarning = (warning: Error) => warnings.push(warning);
afterEach(() => {
  process.off("warning", onWarning);
  warnings.length = 0;
});

describe("RemoteClient against a server that is down", () => {
  it("rejects many concurrent gets with BackendError and no MaxListenersExceededWarning", async () => {
    process.on("warning", onWarning);
    const url = `http://127.0.0.1:${await closedPort()}`;
    const client = new RemoteClient({ url, token: "t", retry: 2 });
    const gets = Array.from({ length: 16 }, (_, i) => client.get(`s${i}`));
    const results = await Promise.allSettled(gets);
    for (const result of results) {
      expect(result.status).toBe("rejected");
      expect((result as PromiseRejectedResult).reason).toBeInstanceOf(BackendError);
    }
    // A warning is emitted on the next tick after the listener that crosses the limit.
    await new Promise((resolve) => setImmediate(resolve));
    expect(warnings.map((w) => `${w.name}: ${w.message}`)).toEqual([]);
    client.close();
  }, 20_000);

  it("close() aborts the requests under way and refuses later ones", async () => {
    // A server that takes connections and never answers.
    const sockets: Socket[] = [];
    const silent = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const { port } = silent.address() as { port: number };
    try {
      const client = new RemoteClient({
        url: `http://127.0.0.1:${port}`,
        token: "t",
        timeout: "30s",
      });
      const pending = Array.from({ length: 3 }, (_, i) => client.get(`s${i}`));
      const started = Date.now();
      await vi.waitFor(() => expect(sockets.length).toBe(3));
      client.close();
      for (const result of await Promise.allSettled(pending)) {
        expect((result as PromiseRejectedResult).reason).toBeInstanceOf(BackendError);
      }
      expect(Date.now() - started).toBeLessThan(5000);
      await expect(client.get("later")).rejects.toBeInstanceOf(BackendError);
      expect(sockets.length).toBe(3);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});

describe("RemoteClient's failures", () => {
  const answering = (status: number, code: string) =>
    new RemoteClient({
      url: "http://server.test",
      token: "t",
      retry: 0,
      fetch: async () =>
        new Response(JSON.stringify({ error: { code, message: "no" } }), {
          status,
          headers: { "content-type": "application/json" },
        }),
    });

  it("carry the status the server answered with (a 5xx, or an answer no store acts on)", async () => {
    const down = answering(503, "BACKEND_UNAVAILABLE").get("s");
    await expect(down).rejects.toMatchObject({ code: "BACKEND_UNAVAILABLE", status: 503 });
    const odd = answering(418, "TEAPOT").get("s");
    await expect(odd).rejects.toMatchObject({ code: "BACKEND_UNAVAILABLE", status: 418 });
  });

  it("carry no status when no answer came", async () => {
    const client = new RemoteClient({
      url: "http://server.test",
      token: "t",
      retry: 0,
      fetch: async () => {
        throw new TypeError("fetch failed");
      },
    });
    const error = await client.get("s").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendError);
    expect((error as BackendError).status).toBeUndefined();
  });
});
