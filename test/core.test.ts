// `sessionmanager-js/core`: the manager with its store, encryption and sync passed in as objects
// (`indexedDBStore()`, `encryption(options)`, `sync(options)`), and what a page that imports only
// those pays for, bundled into one file as esbuild does without code splitting.
import { existsSync } from "node:fs";
import { build } from "esbuild";
import { compactDecrypt } from "jose";
import { afterAll, describe, expect, it } from "vitest";
import { BackendError, SessionManager } from "../src/core.ts";
import { encryption } from "../src/crypto/index.ts";
import { SessionManager as RootSessionManager } from "../src/index.ts";
import { memoryStore } from "../src/stores/memory.ts";
import type { SessionRecord } from "../src/stores/types.ts";
import { remoteStore, sync } from "../src/sync/index.ts";
import { IN_PROCESS_URL, inProcessServer, tokenFor, until } from "./helpers/sync-server.ts";

const { server, store: serverStore, fetch } = inProcessServer();
afterAll(() => server.close());

const key = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, true, [
  "encrypt",
  "decrypt",
]);
const remote = { url: IN_PROCESS_URL, token: () => tokenFor("core-user"), fetch };

describe("sessionmanager-js/core", () => {
  it("keeps sessions in the store object it is given (a memory store by default)", async () => {
    const store = memoryStore();
    const sm = new SessionManager<{ n: number }>({ backend: store, defaultTtl: "1m" });
    const added = await sm.add("a", { data: { n: 1 } });
    expect(store.get("a")).toMatchObject({ id: "a", data: { n: 1 }, version: 1 });
    expect(await sm.get("a")).toEqual(added);
    await sm.close();

    const plain = new SessionManager();
    await plain.add("b");
    expect(await plain.has("b")).toBe(true);
    await plain.close();
  });

  it("seals data with encryption(options) from the crypto entry", async () => {
    const store = memoryStore();
    const sm = new SessionManager({ backend: store, encryption: encryption({ key }) });
    const added = await sm.add("a", { data: { secret: "ada" } });
    const raw = store.get("a") as SessionRecord;
    expect(raw.encrypted).toBe(true);
    const { plaintext } = await compactDecrypt(raw.data as string, key);
    expect(JSON.parse(new TextDecoder().decode(plaintext))).toEqual({ secret: "ada" });
    expect(await sm.get("a")).toEqual(added);
    await sm.close();
  });

  it("syncs its store with a server through sync(options), and uses the server as the store through remoteStore", async () => {
    const sm = new SessionManager({ backend: memoryStore(), remote: sync(remote) });
    await sm.add("synced", { data: { from: "core" } });
    await until(async () => (await serverStore.list()).some((r) => r.id.endsWith("synced")));
    await sm.close();

    const direct = new SessionManager({ backend: remoteStore(remote) });
    expect((await direct.get("synced"))?.data).toEqual({ from: "core" });
    await direct.close();
  });

  it("refuses the root entry's names and plain options with a BackendError that says what it takes", () => {
    const wrong = [
      [
        { backend: "indexedDB" },
        /backend "indexedDB" in sessionmanager-js\/core takes a SessionStore/,
      ],
      [
        { remote: { url: "/api", token: "t" } },
        /remote in sessionmanager-js\/core takes what sync\(\) returns/,
      ],
      [
        { encryption: { key } },
        /encryption in sessionmanager-js\/core takes what encryption\(\) returns/,
      ],
    ] as const;
    for (const [options, message] of wrong) {
      const make = () => new SessionManager(options as never);
      expect(make).toThrow(BackendError);
      expect(make).toThrow(message);
    }
  });

  it("the root entry takes the core's objects as well as its own names", async () => {
    const store = memoryStore();
    const sm = new RootSessionManager({ backend: store, encryption: encryption({ key }) });
    await sm.add("a", { data: 1 });
    expect((store.get("a") as SessionRecord).encrypted).toBe(true);
    expect((await sm.get("a"))?.data).toBe(1);
    await sm.close();
  });
});

describe.skipIf(!existsSync("dist/core.js"))(
  "a page on the core entry, bundled into one file",
  () => {
    /** The modules an esbuild one-file (no splitting) browser bundle of `source` holds. */
    async function inputsOf(source: string): Promise<string[]> {
      const result = await build({
        stdin: { contents: source, resolveDir: process.cwd(), loader: "js" },
        bundle: true,
        platform: "browser",
        format: "esm",
        write: false,
        metafile: true,
        logLevel: "silent",
      });
      return Object.keys(result.metafile.inputs);
    }
    const byName = /webstorage|[\\/]remote|replica|codec|node_modules[\\/](ky|jose)/;

    it("holds the store it imports and none of what the root entry loads by name", async () => {
      const inputs = await inputsOf(`
      import { SessionManager } from "sessionmanager-js/core";
      import { indexedDBStore } from "sessionmanager-js/stores/indexeddb";
      export const sm = new SessionManager({ backend: indexedDBStore() });`);
      expect(inputs.some((path) => path.includes("indexeddb"))).toBe(true);
      expect(inputs.filter((path) => byName.test(path))).toEqual([]);
    });

    it("and the check can fail: the root entry's one-file bundle holds them all", async () => {
      const inputs = await inputsOf(`
      import { SessionManager } from "sessionmanager-js";
      export const sm = new SessionManager({ backend: "indexedDB" });`);
      expect(inputs.filter((path) => byName.test(path)).length).toBeGreaterThan(0);
    });
  },
);
