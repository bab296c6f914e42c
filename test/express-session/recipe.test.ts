// demo/recipes/express.mjs's cookie sessions (express-session on SessionManagerStore), run as a
// user runs the recipe: the built package (npm test builds first; skipped with a warning without
// a build), a free port, real HTTP. test/demo/recipes.test.ts covers its sessions API.
import { existsSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { SECRET } from "../helpers/server.ts";
import { Client } from "./app.ts";

const built = existsSync(new URL("../../dist/express-session.js", import.meta.url));
if (!built) {
  console.warn(
    "[vitest] WARNING: dist/express-session.js is missing: the recipe test is skipped (run `npm run build`)",
  );
}

interface Running {
  url: string;
  close(): Promise<void>;
}

const running: Running[] = [];
afterAll(async () => {
  for (const app of running) await app.close();
});

describe.skipIf(!built)("Express recipe: cookie sessions (demo/recipes/express.mjs)", () => {
  it("signs in, reads the session on the next request, signs out; the API still answers", async () => {
    const recipe = new URL("../../demo/recipes/express.mjs", import.meta.url).href;
    const { start } = (await import(recipe)) as { start(options: object): Promise<Running> };
    const app = await start({ port: 0, backend: "memory", auth: { secret: SECRET } });
    running.push(app);
    const browser = new Client();
    expect((await browser.request(`${app.url}/me`)).body).toEqual({ user: null });
    expect(browser.sessionCookie).toBeUndefined(); // saveUninitialized: false
    const login = await browser.request(`${app.url}/login`, "POST", { user: "ada" });
    expect(login.setCookies[0]).toMatch(/^connect\.sid=.*; HttpOnly; SameSite=Lax$/);
    expect((await browser.request(`${app.url}/me`)).body).toEqual({ user: "ada" });
    expect((await new Client().request(`${app.url}/me`)).body).toEqual({ user: null });
    await browser.request(`${app.url}/logout`, "POST");
    expect((await browser.request(`${app.url}/me`)).body).toEqual({ user: null });
    expect((await fetch(`${app.url}/sessions/v1/sessions`)).status).toBe(401);
  });
});
