// The script-tag bundle's code that the library build loads with import() (a store named by
// string, rotate(), encryption, the tab sync and its cache): the script tag holds it all, and
// tsup.config.ts makes each import() resolve to an object of the module's exports. Each one is
// reached here, so a module whose export went missing from that object fails.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";

type Global = typeof import("../../src/index.ts");

const code = readFileSync(resolve("dist/sessionmanager.global.js"), "utf8");
const lib = new Function(`${code}\nreturn sessionmanager;`)() as Global;

describe("script-tag bundle, what the library loads on first use", () => {
  it.each(["localStorage", "sessionStorage"] as const)(
    "backend %s (the tab sync and cache it loads), rotate() and encryption",
    async (backend) => {
      const key = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, [
        "encrypt",
        "decrypt",
      ]);
      const namespace = `script-tag-${backend}`;
      const sm = new lib.SessionManager({ backend, namespace, encryption: { key } });
      await sm.ready;
      const session = await sm.add(lib.createSessionId(), { data: { theme: "dark" } });
      const rotated = await sm.rotate(session.id);
      expect(rotated.id).not.toBe(session.id);
      expect(rotated.data).toEqual({ theme: "dark" });
      expect(await sm.get(session.id)).toBeUndefined();
      expect(await sm.get(rotated.id)).toEqual(rotated);
      const storage = backend === "localStorage" ? localStorage : sessionStorage;
      expect(JSON.stringify({ ...storage })).not.toContain("dark");
      await sm.close();
    },
  );

  it('backend "remote" reaches its store (and the server it names)', async () => {
    const asked: string[] = [];
    const fetch = async (input: RequestInfo | URL) => {
      asked.push(input instanceof Request ? input.url : String(input));
      return new Response('{"error":{"code":"UNAUTHORIZED","message":"no"}}', { status: 401 });
    };
    const sm = new lib.SessionManager({
      backend: "remote",
      remote: { url: "http://sessions.test", token: "t", fetch, live: false },
    });
    await expect(sm.get("abc")).rejects.toMatchObject({ code: "UNAUTHORIZED" });
    expect(asked).toContain("http://sessions.test/v1/sessions/abc");
    await sm.close();
  });
});
