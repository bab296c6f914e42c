// The repo's examples (examples/react, vue, svelte), each copied into the workspace as an app that
// depends on the tarball, built with its own `npm run build` (`vite build`; the React one
// type-checks first), and its built page used in Chromium as a person would: sign in, watch the
// countdown, get the "stay signed in" dialog before expiry (a short ttl from the address), stay
// signed in, stay signed in by typing (activity tracking), then idle until signed out.
import { rmSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";
import { filesUnder, gzipKb, holdsIndexedDBStore, nodeCodeIn, once } from "./helpers.ts";
import { launchChromium, noChromium, openPage, type StaticServer, serveStatic } from "./pages.ts";
import { run } from "./workspace.ts";

const workspace = inject("workspace");
// As a person's shell has it: vitest sets NODE_ENV=test, which Vite would build React's
// development version for.
const production = { NODE_ENV: "production" };

// A session of 8 s that warns 4 s ahead: the dialog shows after 4 s idle, and activity tracking
// (default throttle: half of ttl − warnBefore, 2 s) keeps at least 6 s left while the user types.
const TTL_S = 8;
const WARN_S = 4;

/** The countdown's `m:ss` in seconds. */
async function secondsLeft(page: Page): Promise<number> {
  const text = (await page.locator("#countdown").textContent()) ?? "";
  const [, minutes, seconds] = /^(\d+):(\d\d)$/.exec(text.trim()) ?? [];
  if (minutes === undefined || seconds === undefined) throw new Error(`countdown reads "${text}"`);
  return Number(minutes) * 60 + Number(seconds);
}

let browser: Browser | undefined;
beforeAll(async () => {
  if (!noChromium) browser = await launchChromium();
}, 30_000);
afterAll(() => browser?.close());

describe.each(["react", "vue", "svelte"])("examples/%s", (name) => {
  const app = join(workspace, "apps", `example-${name}`);
  const dist = join(app, "dist");
  const built = once(() => {
    rmSync(dist, { recursive: true, force: true });
    const started = Date.now();
    run("npm", ["run", "build"], app, production);
    console.log(
      `[consumers] examples/${name}: npm run build in ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
  });

  test("npm run build: a page with the IndexedDB store and no Node code", () => {
    built();
    const files = filesUnder(dist, [".js"]);
    expect(files.some(holdsIndexedDBStore), "the IndexedDB store is in the build").toBe(true);
    expect(nodeCodeIn(files)).toEqual([]);
    console.log(`[consumers] examples/${name}: ${gzipKb(files)} kB gzip of JavaScript`);
  });

  describe.skipIf(noChromium)("the built page in Chromium", () => {
    let server: StaticServer | undefined;
    afterAll(() => server?.stop());

    test("signs in, counts down, asks before expiry, stays signed in, and signs out when idle", async () => {
      built();
      server = await serveStatic(dist);
      const errors: string[] = [];
      const page = await openPage(browser as Browser, errors);
      const dialog = page.locator("dialog");
      await page.goto(`${server.url}/?ttl=${TTL_S}s&warnBefore=${WARN_S}s`);

      await page.getByLabel("Name").fill("alice");
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.getByRole("heading", { name: "Signed in as alice" }).waitFor();
      const first = await secondsLeft(page);
      expect(first).toBeGreaterThan(WARN_S);
      expect(first).toBeLessThanOrEqual(TTL_S);
      await expect
        .poll(() => secondsLeft(page), { message: "the countdown ticks" })
        .toBeLessThan(first);

      // Idle: the dialog asks before the session ends.
      await dialog.waitFor({ state: "visible", timeout: TTL_S * 1000 });
      const asked = await secondsLeft(page);
      expect(asked).toBeGreaterThan(0);
      expect(asked).toBeLessThanOrEqual(WARN_S);
      await expect(dialog.textContent()).resolves.toContain("Stay signed in?");

      // "Stay signed in", as a click event alone: no pointer movement, which activity tracking
      // would count, so the button is what extends the session.
      await dialog.getByRole("button", { name: "Stay signed in" }).dispatchEvent("click");
      await dialog.waitFor({ state: "hidden" });
      expect(await secondsLeft(page)).toBeGreaterThan(TTL_S - 2);

      // Typing for longer than the idle time before the dialog: activity keeps the session alive.
      const typingUntil = Date.now() + (TTL_S - WARN_S + 3) * 1000;
      while (Date.now() < typingUntil) {
        await page.keyboard.press("Shift");
        await page.waitForTimeout(300);
        expect(await dialog.count(), "the dialog showed while the user was typing").toBe(0);
      }
      expect(await secondsLeft(page)).toBeGreaterThan(WARN_S);

      // Idle again: asked again, then signed out when the session runs out.
      await dialog.waitFor({ state: "visible", timeout: TTL_S * 1000 });
      await page.getByRole("status").waitFor({ timeout: (WARN_S + 3) * 1000 });
      await expect(page.getByRole("status").textContent()).resolves.toContain(
        "Your session expired",
      );
      await expect(page.getByRole("button", { name: "Sign in" }).isVisible()).resolves.toBe(true);
      expect(errors).toEqual([]);
      await page.context().close();
    }, 60_000);
  });
});
