// The manager as built (dist/: ESM, CJS and the script-tag bundle), through every path its
// parts take: the build shortens the property names of internal objects (tsup.config.ts
// `mangleProps`) and sets class fields by assignment, which the tests of src/ never see. Two
// managers share a store as tabs do (tab channel, read cache), sessions warn and expire, writes
// retry and give up, a failing store is guarded, a browser store falls back to memory, and
// records are sealed with encryption. Needs dist/ (npm test builds first).
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";

type Lib = typeof import("../../src/index.ts");
type Space = Map<string, Map<string, import("../../src/types.ts").SessionRecord>>;
type MemoryLib = typeof import("../../src/stores/memory.ts");

const built = existsSync("dist/index.js") && existsSync("dist/sessionmanager.global.js");
if (!built) console.warn("[built manager] WARNING: dist/ is missing (run npm run build)");

const require = createRequire(import.meta.url);
const builds: [string, () => Promise<{ lib: Lib; memory: MemoryLib["memoryStore"] }>][] = [
  [
    "ESM",
    async () => ({
      lib: await import(pathToFileURL(resolve("dist/index.js")).href),
      memory: (await import(pathToFileURL(resolve("dist/stores/memory.js")).href)).memoryStore,
    }),
  ],
  [
    "CJS",
    async () => ({
      lib: require(resolve("dist/index.cjs")),
      memory: require(resolve("dist/stores/memory.cjs")).memoryStore,
    }),
  ],
  [
    "script tag",
    async () => {
      const code = readFileSync(resolve("dist/sessionmanager.global.js"), "utf8");
      const lib = new Function(`${code}\nreturn sessionmanager;`)() as Lib;
      // The script tag has no memory store of its own to import: the core's default is one.
      const memory = (await import(pathToFileURL(resolve("dist/stores/memory.js")).href))
        .memoryStore as MemoryLib["memoryStore"];
      return { lib, memory };
    },
  ],
];

const wait = (ms: number) => new Promise((done) => setTimeout(done, ms));
async function until(check: () => boolean, ms = 3000): Promise<void> {
  for (const end = Date.now() + ms; !check(); await wait(5)) {
    if (Date.now() > end) throw new Error("timed out");
  }
}

describe.skipIf(!built).each(builds)("the built manager (%s)", (_, load) => {
  it("shares sessions and changes between two managers of one shared store, as tabs do", async () => {
    const { lib, memory } = await load();
    const space: Space = new Map();
    const namespace = `built-${Math.random()}`;
    // A store that tabs share: the managers open a tab channel (BroadcastChannel) and a read cache.
    const shared = () => ({
      ...memory({ space, namespace }),
      capabilities: { shared: true, fallback: true },
    });
    const a = new lib.SessionManager({ backend: shared(), namespace, warnBefore: 0 });
    const b = new lib.SessionManager({ backend: shared(), namespace, warnBefore: 0 });
    await Promise.all([a.ready, b.ready]);
    const heard: string[] = [];
    for (const event of ["added", "touched", "updated", "removed"] as const) {
      b.on(event, (session: { id: string }) => heard.push(`${event} ${session.id}`));
    }
    const previous: unknown[] = [];
    b.on("updated", (_, old) => previous.push(old.data));

    await a.add("s1", { data: { n: 1 } });
    await until(() => heard.length === 1);
    expect((await b.get("s1"))?.data).toEqual({ n: 1 });
    await a.touch("s1", "2m");
    await a.update("s1", (old) => ({ n: (old as { n: number }).n + 1 }));
    await until(() => heard.length === 3);
    expect(previous).toEqual([{ n: 1 }]);
    expect((await b.getOrThrow("s1")).data).toEqual({ n: 2 });
    expect(await a.remove("s1")).toBe(true);
    await until(() => heard.length === 4);
    expect(heard).toEqual(["added s1", "touched s1", "updated s1", "removed s1"]);
    expect(await b.has("s1")).toBe(false);

    await b.add("s2");
    await b.add("s3");
    expect((await a.list()).map((s) => s.id).sort()).toEqual(["s2", "s3"]);
    await until(() => heard.length === 6);
    await a.clear();
    await until(() => heard.length === 8);
    expect(await b.list()).toEqual([]);
    await a.close();
    await b.close();
    await expect(a.get("s2")).rejects.toMatchObject({ code: "CLOSED" });
  });

  it("warns, expires and sweeps; purgeExpired fires expired", async () => {
    const { lib } = await load();
    const sm = new lib.SessionManager({ defaultTtl: 300, warnBefore: 200 });
    const events: string[] = [];
    sm.onExpiringSoon((session) => events.push(`soon ${session.id}`));
    sm.onExpired((session) => events.push(`expired ${session.id}`));
    await sm.add("short");
    await until(() => events.length === 2);
    expect(events).toEqual(["soon short", "expired short"]);
    expect(await sm.get("short")).toBeUndefined();
    expect(await sm.purgeExpired()).toBe(0);
    await sm.close();
  });

  it("retries a conditional write and gives up with ConflictError; guards a failing store", async () => {
    const { lib, memory } = await load();
    let sets = 0;
    const losing = {
      ...memory(),
      set: () => {
        sets++;
        return false;
      },
    };
    const sm = new lib.SessionManager({ backend: losing });
    await expect(sm.add("x")).rejects.toBeInstanceOf(lib.ConflictError);
    expect(sets).toBe(5);
    await sm.close();

    const failing = {
      ...memory(),
      get: () => {
        throw new Error("disk on fire");
      },
    };
    const broken = new lib.SessionManager({ backend: failing });
    const error = await broken.get("x").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(lib.BackendError);
    expect((error as Error).message).toBe("memory store failed: disk on fire");
    await broken.close();
  });

  it("falls back to memory when a browser store cannot open (degraded)", async () => {
    const { lib, memory } = await load();
    const store = {
      ...memory(),
      name: "flaky",
      capabilities: { fallback: true },
      open: () => {
        throw new Error("blocked");
      },
    };
    const sm = new lib.SessionManager({ backend: store });
    const reasons: string[] = [];
    sm.on("degraded", (reason) => reasons.push(reason.message));
    await sm.ready;
    expect(sm.status).toBe("degraded");
    expect(reasons).toEqual(["flaky store failed: blocked"]);
    await sm.add("kept");
    expect(await sm.has("kept")).toBe(true);
    await sm.close();
  });

  it("seals records with encryption and opens them again", async () => {
    const { lib, memory } = await load();
    const store = memory();
    const key = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, [
      "encrypt",
      "decrypt",
    ]);
    const sm = new lib.SessionManager({ backend: store, encryption: { key } });
    await sm.add("secret", { data: { card: "4242" } });
    const raw = await store.get("secret");
    expect(raw?.encrypted).toBe(true);
    expect(JSON.stringify(raw)).not.toContain("4242");
    expect((await sm.get("secret"))?.data).toEqual({ card: "4242" });
    const other = new lib.SessionManager({ backend: store });
    const errors: string[] = [];
    other.on("error", (error) => errors.push((error as Error).name));
    expect(await other.get("secret")).toBeUndefined();
    expect(errors.length).toBeGreaterThan(0);
    expect(new Set(errors)).toEqual(new Set(["DecryptionError"]));
    await sm.close();
    await other.close();
  });
});
