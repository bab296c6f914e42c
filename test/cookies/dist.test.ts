// Cookie sessions as built (dist/cookies.js and dist/cookies.cjs): the build shortens internal
// property names (tsup.config.ts `mangleProps`) and turns class fields into assignments, which
// the tests of src/ never see, and here Hono, Fastify and node:http call the built adapters.
// The shared suite runs on each build's own SessionManager. Needs dist/ (npm test builds first).
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { frameworksWith } from "./apps.ts";
import { testCookieSessions } from "./behaviour.ts";
import { flakyStore, SECRET } from "./helpers.ts";
import type { AppData } from "./routes.ts";

type Cookies = typeof import("../../src/cookies/index.ts");
type Root = typeof import("../../src/index.ts");

const built = existsSync("dist/cookies.js") && existsSync("dist/cookies.cjs");
if (!built)
  console.warn(
    "[vitest] WARNING: dist/cookies.js is missing: built cookie tests skipped (npm run build)",
  );

const require = createRequire(import.meta.url);
const esm = async (file: string) => import(pathToFileURL(resolve(file)).href);

const builds: [string, () => Promise<{ cookies: Cookies; root: Root }>, string[]][] = [
  [
    "ESM",
    async () => ({ cookies: await esm("dist/cookies.js"), root: await esm("dist/index.js") }),
    ["Hono", "Fastify", "node:http"],
  ],
  [
    "CJS",
    async () => ({
      cookies: require(resolve("dist/cookies.cjs")),
      root: require(resolve("dist/index.cjs")),
    }),
    ["Hono"],
  ],
];

describe.skipIf(!built).each(builds)("dist (%s)", async (_kind, load, names) => {
  const { cookies, root } = built ? await load() : ({} as Awaited<ReturnType<typeof load>>);
  if (!built) return;
  const flaky = flakyStore();
  const backend = {
    name: "memory",
    manager: () => new root.SessionManager<AppData>({ backend: flaky.store }),
    setDown: flaky.setDown,
  };
  for (const { name, serve } of frameworksWith(cookies)) {
    if (names.includes(name)) testCookieSessions(name, serve, backend, cookies.cookieSessions);
  }

  it("keeps its typed errors those of the root entry", async () => {
    expect(() => cookies.cookieSessions({ secret: "short" })).toThrow(root.AuthError);
    const sessions = cookies.cookieSessions<AppData>({ secret: SECRET });
    const session = await sessions.load(new Request("https://shop.example/"));
    await session.set({ user: "ada" });
    expect(sessions.setCookies(session)[0]).toMatch(/^__Host-sid=[\w-]{22}\./);
    await sessions.close();
  });
});
