// Backends chosen by name, the way DESIGN.md shows it: `new SessionManager({ backend: "redis", url })`.
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";
import { describe, expect, it } from "vitest";
import { BackendError, SessionManager, type SessionManagerOptions } from "../../src/node.ts";
import { requireServices, services } from "../helpers/services.ts";
import { tempDir } from "../helpers/temp.ts";

const up = await requireServices();
const dir = await tempDir("sm-backends-");

const namespace = `backends${process.pid}x${Date.now()}`;

/** A whole session life through a manager on `options`, then a second manager sees the session. */
async function roundTrip(options: SessionManagerOptions): Promise<void> {
  const first = new SessionManager<{ user: string }>({ ...options, namespace });
  await first.ready;
  expect(first.status).toBe("ready");
  const added = await first.add("user123", { data: { user: "ada" }, ttl: "10m" });
  await first.touch("user123");
  await first.close();
  const second = new SessionManager<{ user: string }>({ ...options, namespace });
  expect(await second.get("user123")).toMatchObject({ data: added.data, version: 2 });
  expect(await second.remove("user123")).toBe(true);
  await second.clear();
  await second.close();
}

describe("backends by name (Node entry)", () => {
  it("file, JSON and CSV", async () => {
    await roundTrip({ backend: "file", path: join(dir, "sessions.json") });
    await roundTrip({ backend: "file", path: join(dir, "sessions.csv"), format: "csv" });
  });

  it("sqlite", () => roundTrip({ backend: "sqlite", path: join(dir, "sessions.db") }));

  it.skipIf(!up.postgres)("postgres, by url", () =>
    roundTrip({ backend: "postgres", url: services.postgres.url }),
  );

  it.skipIf(!up.redis)("redis, by host and port, with a read cache", () =>
    roundTrip({
      backend: "redis",
      host: services.redis.host,
      port: services.redis.port,
      cache: { max: 100 },
    }),
  );

  it.skipIf(!up.memcached)("memcached, by host and port", () =>
    roundTrip({
      backend: "memcached",
      host: services.memcached.host,
      port: services.memcached.port,
    }),
  );

  it("a service that is down: calls reject with BackendError, no fallback to memory", async () => {
    const sm = new SessionManager({ backend: "redis", url: "redis://127.0.0.1:1", namespace });
    const errors: Error[] = [];
    sm.on("error", (error) => errors.push(error));
    await sm.ready;
    expect(sm.status).toBe("ready");
    await expect(sm.add("a")).rejects.toBeInstanceOf(BackendError);
    expect(errors.length).toBeGreaterThan(0);
    await sm.close();
  });

  it.skipIf(!existsSync("dist/index.js"))(
    "a browser build (package.json imports, default condition) refuses Node backends, saying so",
    async () => {
      const { outputFiles } = await build({
        stdin: { contents: `export * from "sessionmanager-js";`, resolveDir: process.cwd() },
        bundle: true,
        platform: "browser",
        format: "esm",
        write: false,
        logLevel: "silent",
      });
      const file = join(dir, "page-bundle.mjs");
      await writeFile(file, outputFiles[0]?.text ?? "");
      const page = await import(/* @vite-ignore */ pathToFileURL(file).href);
      expect(() => new page.SessionManager({ backend: "sqlite" })).toThrow(
        /"sqlite" backend works in Node only/,
      );
      // The same build does work with a store a page has.
      const sm = new page.SessionManager({ backend: "memory" });
      expect((await sm.add("a")).id).toBe("a");
      await sm.close();
    },
  );

  it("refuses an unknown name at once, and a remote backend without a server on first use", async () => {
    expect(
      () => new SessionManager({ backend: "mongodb" } as unknown as SessionManagerOptions),
    ).toThrow(/unknown backend "mongodb"; expected one of .*sqlite/);
    const sm = new SessionManager({ backend: "remote" } as unknown as SessionManagerOptions);
    sm.on("error", () => {});
    await expect(sm.add("a")).rejects.toThrow('backend "remote" needs remote: { url, token }');
    await sm.close();
  });
});
