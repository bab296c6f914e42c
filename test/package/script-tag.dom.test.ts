// The script-tag bundle in a DOM-like global scope: evaluated as a classic script does, it
// defines `sessionmanager`. (The same bundle in a real page, from a <script src>, is tested in
// Chromium with the browser stores.)
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";

type Global = typeof import("../../src/index.ts");

describe("script-tag bundle", () => {
  it("defines window.sessionmanager with a working SessionManager", async () => {
    const code = readFileSync(resolve("dist/sessionmanager.global.js"), "utf8");
    expect(typeof window.document).toBe("object");
    const lib = new Function(`${code}\nreturn sessionmanager;`)() as Global;
    expect(Object.keys(lib)).toContain("SessionManager");
    const sm = new lib.SessionManager({ defaultTtl: "1m", warnBefore: 0 });
    const session = await sm.add(lib.createSessionId(), { data: { theme: "dark" } });
    expect(await sm.get(session.id)).toEqual(session);
    await expect(sm.add(session.id)).rejects.toMatchObject({ code: "SESSION_EXISTS" });
    await sm.close();
  });
});
