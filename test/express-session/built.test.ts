// The BUILT entry (dist/express-session.js and .cjs; npm test builds first) in plain Node, where
// the build's shortened property names and the CJS/ESM interop with express-session would show:
// a Store express-session recognises, and every method through to the manager's events.
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";

const dist = new URL("../../dist/", import.meta.url);

// Runs in the child, with `SessionManagerStore` and express-session's `Store` in scope.
const scenario = `
  const log = [];
  const store = new SessionManagerStore({ backend: "memory", warnBefore: 100 });
  log.push(store instanceof Store);
  store.manager.onExpiringSoon((s) => log.push("soon " + s.id));
  const cookie = (ms) => ({ cookie: { originalMaxAge: ms, expires: new Date(Date.now() + ms).toISOString() } });
  await new Promise((resolve) => store.set("a", { ...cookie(60000), user: "ada" }, resolve));
  await store.set("b", cookie(200));
  await store.set("a", { ...cookie(60000), user: "bob" });
  await store.touch("a", cookie(120000));
  log.push(await new Promise((resolve) => store.get("a", (e, s) => resolve(s.user))));
  log.push((await store.ids()).sort().join(","), await store.length());
  await new Promise((resolve) => setTimeout(resolve, 300));
  log.push((await store.all()).map((s) => s.id).join(","));
  await store.destroy("a");
  log.push(await store.length());
  await store.close();
  console.log(JSON.stringify(log));
`;

const expected = [true, "bob", "a,b", 2, "soon b", "a", 0];

function run(args: string[]): { stdout: string; stderr: string; status: number | null } {
  return spawnSync(process.execPath, args, { encoding: "utf8", timeout: 20_000 });
}

describe("the built express-session entry in plain Node", () => {
  it("ESM: dist/express-session.js", () => {
    const script = `
      import { Store } from "express-session";
      import { SessionManagerStore } from ${JSON.stringify(new URL("express-session.js", dist).href)};
      ${scenario}`;
    const result = run(["--input-type=module", "-e", script]);
    expect(result.stderr).toBe("");
    expect(JSON.parse(result.stdout)).toEqual(expected);
  });

  it("CJS: dist/express-session.cjs", () => {
    const script = `
      const { Store } = require("express-session");
      const { SessionManagerStore } = require(${JSON.stringify(new URL("express-session.cjs", dist).pathname)});
      (async () => { ${scenario} })();`;
    const result = run(["-e", script]);
    expect(result.stderr).toBe("");
    expect(JSON.parse(result.stdout)).toEqual(expected);
  });
});
