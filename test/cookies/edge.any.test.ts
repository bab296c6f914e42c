// The core on any runtime with WebCrypto and web Headers (edge runtimes, Deno, Bun; here Node,
// happy-dom and a real Chromium page): no Node API is needed to sign, load, rotate and commit.
// Standalone Headers, as a browser forbids Cookie on a Request and Set-Cookie on a Response.
import { expect, it } from "vitest";
import { cookieSessions } from "../../src/cookies/index.ts";
import { SessionManager } from "../../src/index.ts";

const SECRET = "a cookie secret of thirty-two characters or more!";

it("signs in, reads back, refuses a forged cookie and signs out with web APIs only", async () => {
  const manager = new SessionManager<{ user: string }>();
  const sessions = cookieSessions({ secret: SECRET, manager });
  const request = (cookie?: string) => ({
    url: "https://shop.example/",
    headers: new Headers(cookie ? { cookie } : {}),
  });
  const first = await sessions.load(request());
  await first.rotate({ user: "ada" });
  const out = new Headers();
  sessions.commit(first, out);
  const [setCookie = ""] = out.get("set-cookie")?.split(/,(?=\s*__Host-)/) ?? [];
  expect(setCookie).toMatch(
    /^__Host-sid=.+; Max-Age=\d+; Path=\/; HttpOnly; Secure; SameSite=Lax$/,
  );
  const cookie = setCookie.split(";")[0] as string;

  const again = await sessions.load(request(cookie));
  expect(again.data).toEqual({ user: "ada" });
  expect(again.id).toBe(first.id);

  // The id's last character changed, the signature kept.
  const dot = cookie.indexOf(".");
  const flipped = cookie[dot - 1] === "A" ? "B" : "A";
  const forged = await sessions.load(
    request(`${cookie.slice(0, dot - 1)}${flipped}${cookie.slice(dot)}`),
  );
  expect(forged.id).toBeUndefined();
  expect(sessions.setCookies(forged)[0]).toMatch(/Max-Age=0/);

  await again.destroy();
  expect(await manager.get(first.id as string)).toBeUndefined();
  await manager.close();
});
