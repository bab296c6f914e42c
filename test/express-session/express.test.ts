// express-session's own behaviour against SessionManagerStore, through a real Express 5 app over
// real HTTP: sign in, read, regenerate, destroy, expiry, touch and rolling, what resave: false and
// saveUninitialized: false save, and store errors reaching Express's error handler.
import { afterEach, describe, expect, it, vi } from "vitest";
import { SessionManagerStore } from "../../src/express-session/index.ts";
import { type App, Client, startApp } from "./app.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let open: { app: App; store: SessionManagerStore }[] = [];
afterEach(async () => {
  for (const { app, store } of open) {
    await app.close();
    await store.close();
  }
  open = [];
});

async function setUp(
  storeOptions: ConstructorParameters<typeof SessionManagerStore>[0] = {},
  sessionOptions: Parameters<typeof startApp>[1] = {},
) {
  const store = new SessionManagerStore({ backend: "memory", ...storeOptions } as never);
  const app = await startApp(store, sessionOptions);
  open.push({ app, store });
  return { store, url: app.url, client: new Client() };
}

describe("express-session on SessionManagerStore, over HTTP", () => {
  it("sign in, then the next request reads the session (its cookie rebuilt by express-session)", async () => {
    const { store, url, client } = await setUp({}, { cookie: { maxAge: 60_000 } });
    const { body: login } = await client.request(`${url}/login`, "POST", { user: "ada" });
    expect(client.sessionCookie).toContain(String(login.sid));
    const { body: me } = await client.request(`${url}/me`);
    expect(me).toEqual({
      sid: login.sid,
      user: "ada",
      views: 0,
      expiresIsDate: true,
      originalMaxAge: 60_000,
    });
    expect(await store.ids()).toEqual([login.sid]);
    expect(await store.get(String(login.sid))).toMatchObject({ user: "ada" });
    // Another browser has no session.
    expect((await new Client().request(`${url}/me`)).body.user).toBeNull();
  });

  it("regenerate on sign-in: a new id, and the old one no longer works", async () => {
    const { store, url, client } = await setUp();
    await client.request(`${url}/views`, "POST");
    const before = client.sessionCookie as string;
    const [oldSid] = await store.ids();
    const { body } = await client.request(`${url}/login`, "POST");
    expect(body.sid).not.toBe(oldSid);
    expect(await store.ids()).toEqual([body.sid]);
    expect(await store.get(String(oldSid))).toBeNull();
    // A request still carrying the old cookie gets no session.
    const stale = new Client();
    stale.jar.set("connect.sid", before);
    expect((await stale.request(`${url}/me`)).body).toMatchObject({ user: null, views: 0 });
  });

  it("destroy on sign-out: the session is gone from the store and the cookie reads as none", async () => {
    const { store, url, client } = await setUp();
    await client.request(`${url}/login`, "POST");
    expect(await store.length()).toBe(1);
    await client.request(`${url}/logout`, "POST");
    expect(await store.length()).toBe(0);
    expect((await client.request(`${url}/me`)).body.user).toBeNull();
  });

  it("a short maxAge: the session ends on the server when its cookie would", async () => {
    const { store, url, client } = await setUp({}, { cookie: { maxAge: 300 } });
    const { body } = await client.request(`${url}/login`, "POST");
    const sid = String(body.sid);
    const cookie = client.sessionCookie as string;
    expect((await client.request(`${url}/me`)).body.user).toBe("ada");
    await sleep(450);
    // Sent anyway (as a client with a wrong clock would): the store has nothing for it.
    const late = new Client();
    late.jar.set("connect.sid", cookie);
    expect(await store.get(sid)).toBeNull();
    expect((await late.request(`${url}/me`)).body.user).toBeNull();
  });

  it("touch: requests that only read keep the session alive on the server", async () => {
    const { store, url, client } = await setUp({}, { cookie: { maxAge: 600 } });
    const { body } = await client.request(`${url}/login`, "POST");
    const cookie = client.sessionCookie as string;
    const touch = vi.spyOn(store, "touch");
    for (let i = 0; i < 4; i++) {
      await sleep(250);
      const reader = new Client();
      reader.jar.set("connect.sid", cookie); // rolling is off: the browser keeps its first cookie
      expect((await reader.request(`${url}/me`)).body.user).toBe("ada");
    }
    expect(touch).toHaveBeenCalledTimes(4);
    expect(touch.mock.calls[0]?.[0]).toBe(body.sid);
    // A second after sign-in, past the first maxAge: alive, because each read touched it.
    expect(await store.get(String(body.sid))).not.toBeNull();
  });

  it("disableTouch: reads do not extend it; it ends maxAge after its last save", async () => {
    const { url, client } = await setUp({ disableTouch: true }, { cookie: { maxAge: 600 } });
    await client.request(`${url}/login`, "POST");
    const cookie = client.sessionCookie as string;
    const reader = new Client();
    reader.jar.set("connect.sid", cookie);
    await sleep(300);
    expect((await reader.request(`${url}/me`)).body.user).toBe("ada");
    await sleep(400);
    expect((await reader.request(`${url}/me`)).body.user).toBeNull();
  });

  it("rolling: every response renews the cookie, and the store's expiry follows", async () => {
    // 10 s: a touch that moves the expiry by a tenth of it (1 s) or more is written.
    const { store, url, client } = await setUp({}, { rolling: true, cookie: { maxAge: 10_000 } });
    const { body } = await client.request(`${url}/login`, "POST");
    const first = (await store.manager.get(String(body.sid)))?.expiresAt ?? 0;
    await sleep(1100);
    const { setCookies } = await client.request(`${url}/me`);
    expect(setCookies).toHaveLength(1);
    expect((await store.manager.get(String(body.sid)))?.expiresAt).toBeGreaterThan(first + 1000);
  });

  it("a read that would move the expiry by less than a tenth of the ttl writes nothing", async () => {
    const { store, url, client } = await setUp({}, { rolling: true, cookie: { maxAge: 60_000 } });
    const { body } = await client.request(`${url}/login`, "POST");
    const first = (await store.manager.get(String(body.sid)))?.expiresAt ?? 0;
    const touch = vi.spyOn(store.manager, "touch");
    await sleep(1100); // the next read is no longer the login's
    const { setCookies } = await client.request(`${url}/me`);
    expect(setCookies).toHaveLength(1); // the browser's cookie is still renewed
    expect(touch).not.toHaveBeenCalled();
    expect((await store.manager.get(String(body.sid)))?.expiresAt).toBe(first);
  });

  it("resave: false, saveUninitialized: false: nothing stored until the session changes", async () => {
    const { store, url, client } = await setUp();
    const set = vi.spyOn(store, "set");
    const { setCookies } = await client.request(`${url}/anonymous`);
    expect(setCookies).toEqual([]);
    expect(await store.length()).toBe(0);
    await client.request(`${url}/views`, "POST");
    expect(await store.length()).toBe(1);
    expect(set).toHaveBeenCalledTimes(1);
    await client.request(`${url}/me`); // unchanged: touched, not saved
    expect(set).toHaveBeenCalledTimes(1);
    await client.request(`${url}/views`, "POST");
    expect(set).toHaveBeenCalledTimes(2);
    expect((await client.request(`${url}/me`)).body.views).toBe(2);
  });

  it("saveUninitialized: true stores a new session at once", async () => {
    const { store, url, client } = await setUp({}, { saveUninitialized: true });
    await client.request(`${url}/anonymous`);
    expect(await store.length()).toBe(1);
  });

  it("store errors reach Express's error handler, with their codes", async () => {
    const { store, url, client } = await setUp();
    // Data JSON would lose: set fails with InvalidDataError.
    const bad = await client.request(`${url}/note`, "POST", { note: "function" });
    expect(bad).toMatchObject({ status: 500, body: { code: "INVALID_DATA" } });
    await client.request(`${url}/login`, "POST");
    // The store gone (closed): get fails for a request that carries a session cookie.
    await store.manager.close();
    const down = await client.request(`${url}/me`);
    expect(down).toMatchObject({ status: 500, body: { code: "CLOSED" } });
    const anonymous = await new Client().request(`${url}/anonymous`);
    expect(anonymous.status).toBe(200); // no cookie: no store call
  });
});
