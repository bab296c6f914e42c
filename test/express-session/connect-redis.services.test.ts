// connect-redis's documented behaviours (its readme, and what its code does for them) as a
// checklist: each item runs against connect-redis itself and against SessionManagerStore on the
// same Redis, so "the same" means the same answers. The differences are items of their own, and
// are listed in docs/guides/express-session.md.
import { RedisStore } from "connect-redis";
import type { SessionData } from "express-session";
import { createClient } from "redis";
import { afterAll, describe, expect, it } from "vitest";
import { SessionManagerStore } from "../../src/express-session/index.ts";
import { requireService, runId, services } from "../helpers/services.ts";
import { called, sessionFor } from "./contract.ts";

/** What a callback got (connect-redis may call it synchronously: see the differences). */
const via = <T>(run: (callback: (error: unknown, value?: T) => void) => void) =>
  new Promise<{ error: unknown; value: T | undefined }>((resolve) =>
    run((error, value) => resolve({ error, value })),
  );

const up = await requireService("redis");
const url = `redis://${services.redis.host}:${services.redis.port}`;

/** What the checklist calls: both stores have it all (Store's types make most of it optional). */
type Done<T = unknown> = (error: unknown, value?: T) => void;
interface CheckedStore {
  get(sid: string, callback: Done<SessionData | null>): void;
  set(sid: string, session: SessionData, callback: Done): void;
  touch(sid: string, session: SessionData, callback: Done): void;
  destroy(sid: string, callback: Done): void;
  all(callback: Done<SessionData[]>): void;
  length(callback: Done<number>): void;
  clear(callback?: Done): Promise<void> | undefined;
  ids(): Promise<string[]>;
}

/** A store under test, and how long (ms) the session `sid` has left in it. */
interface Subject {
  store: CheckedStore;
  left(sid: string): Promise<number>;
}
type Options = { ttl?: number | ((session: SessionData) => number); disableTouch?: boolean };

const client = up ? await createClient({ url }).connect() : undefined;
const ours: SessionManagerStore[] = [];
afterAll(async () => {
  for (const store of ours) {
    await store.clear();
    await store.close();
  }
  client?.destroy();
});

// connect-redis: `prefix` scopes the keys; the TTL is Redis's own (PTTL).
const connectRedis = (options: Options = {}, prefix = `${runId()}:`): Subject => {
  const store = new RedisStore({ client: client as never, prefix, ...options });
  return {
    store: store as unknown as CheckedStore,
    left: async (sid) => client?.pTTL(prefix + sid) ?? -2,
  };
};
// SessionManagerStore: `namespace` scopes the sessions; the expiry is the session's.
const sessionManager = (options: Options = {}, namespace = runId()): Subject => {
  const store = new SessionManagerStore({ backend: "redis", url, namespace, ...options });
  ours.push(store);
  return {
    store: store as unknown as CheckedStore,
    left: async (sid) => ((await store.manager.get(sid))?.expiresAt ?? Date.now()) - Date.now(),
  };
};

const HOUR = 3_600_000;
/** `ms` is `expected`, give or take the second connect-redis rounds to (and the test's time). */
const near = (ms: number, expected: number) =>
  expect(Math.abs(ms - expected)).toBeLessThanOrEqual(2000);

describe.skipIf(!up).each([
  ["connect-redis", connectRedis],
  ["SessionManagerStore", sessionManager],
])("connect-redis's checklist: %s", (_name, make) => {
  it("ttl: the cookie's expires is the session's lifetime", async () => {
    const { store, left } = make();
    await via((cb) => store.set("s", sessionFor(HOUR), cb));
    near(await left("s"), HOUR);
  });

  it("ttl: without a cookie expiry, 86400 seconds by default", async () => {
    const { store, left } = make();
    await via((cb) => store.set("s", sessionFor(null), cb));
    near(await left("s"), 86_400_000);
  });

  it("ttl: without a cookie expiry, the ttl option (seconds)", async () => {
    const { store, left } = make({ ttl: 120 });
    await via((cb) => store.set("s", sessionFor(null), cb));
    near(await left("s"), 120_000);
  });

  it("ttl: a function of the session data decides it", async () => {
    const { store, left } = make({ ttl: (s) => ((s as { vip?: boolean }).vip ? 600 : 60) });
    await via((cb) => store.set("vip", sessionFor(HOUR, { vip: true }), cb));
    await via((cb) => store.set("guest", sessionFor(HOUR), cb));
    near(await left("vip"), 600_000);
    near(await left("guest"), 60_000);
  });

  it("touch resets the TTL from the cookie, keeping the data", async () => {
    const { store, left } = make();
    await via((cb) => store.set("s", sessionFor(60_000, { user: "ada" }), cb));
    await via((cb) => store.touch("s", sessionFor(HOUR, { user: "other" }), cb));
    near(await left("s"), HOUR);
    expect((await via<SessionData | null>((cb) => store.get("s", cb))).value).toMatchObject({
      user: "ada",
    });
  });

  it("disableTouch: touch leaves the TTL as it was; set still resets it", async () => {
    const { store, left } = make({ disableTouch: true });
    await via((cb) => store.set("s", sessionFor(60_000), cb));
    await via((cb) => store.touch("s", sessionFor(HOUR), cb));
    near(await left("s"), 60_000);
    await via((cb) => store.set("s", sessionFor(HOUR), cb));
    near(await left("s"), HOUR);
  });

  it("set with a cookie already expired destroys the session", async () => {
    const { store } = make();
    await via((cb) => store.set("s", sessionFor(HOUR), cb));
    await via((cb) => store.set("s", sessionFor(-5000), cb));
    expect(await via((cb) => store.get("s", cb))).toEqual({ error: null, value: null });
  });

  it("get of a missing session: no error, null", async () => {
    const { store } = make();
    expect(await via((cb) => store.get("missing", cb))).toEqual({ error: null, value: null });
  });

  it("destroy of a missing session: no error", async () => {
    const { store } = make();
    expect((await via((cb) => store.destroy("missing", cb))).error).toBeNull();
  });

  it("prefix / namespace: all, ids, length and clear see only this app's sessions", async () => {
    const { store } = make();
    const { store: other } = make();
    await via((cb) => store.set("a", sessionFor(HOUR, { n: 1 }), cb));
    await via((cb) => store.set("b", sessionFor(HOUR, { n: 2 }), cb));
    await via((cb) => other.set("c", sessionFor(HOUR, { n: 3 }), cb));
    expect((await store.ids()).sort()).toEqual(["a", "b"]);
    expect(await via((cb) => store.length(cb))).toEqual({ error: null, value: 2 });
    await via((cb) => store.clear(cb));
    expect(await store.ids()).toEqual([]);
    expect(await other.ids()).toEqual(["c"]);
    await other.clear();
  });

  it("all: an array of the sessions, each with its id", async () => {
    const { store } = make();
    const session = sessionFor(HOUR, { n: 1 });
    await via((cb) => store.set("a", session, cb));
    const { value } = await via<SessionData[]>((cb) => store.all(cb));
    expect(value).toEqual([{ ...JSON.parse(JSON.stringify(session)), id: "a" }]);
    await store.clear();
  });

  it("data is stored as JSON: get answers what JSON.parse(JSON.stringify(session)) makes", async () => {
    const { store } = make();
    const session = sessionFor(HOUR, {
      when: new Date(0),
      list: [1, "two", null],
      nested: { a: {} },
    });
    await via((cb) => store.set("s", session, cb));
    expect((await via((cb) => store.get("s", cb))).value).toEqual(
      JSON.parse(JSON.stringify(session)),
    );
    await store.clear();
  });

  it("without a callback, each method returns a promise", async () => {
    const { store } = make();
    const promised = store as unknown as {
      set(sid: string, s: unknown): Promise<unknown>;
      get(sid: string): Promise<unknown>;
      length(): Promise<number>;
    };
    await promised.set("s", sessionFor(HOUR, { n: 1 }));
    expect(await promised.get("s")).toMatchObject({ n: 1 });
    expect(await promised.length()).toBe(1);
    await store.clear();
  });
});

// Where the two differ, on purpose (docs/guides/express-session.md lists each).
describe.skipIf(!up)("connect-redis's checklist: the differences", () => {
  it("expiry to the millisecond (connect-redis rounds the cookie's up to whole seconds)", async () => {
    const { store, left } = sessionManager();
    await via((cb) => store.set("s", sessionFor(1500), cb));
    expect(await left("s")).toBeLessThanOrEqual(1500);
    expect(await left("s")).toBeGreaterThan(1000);
  });

  it("callbacks never run synchronously (connect-redis's touch with disableTouch does)", async () => {
    const { store } = sessionManager({ disableTouch: true });
    expect((await called((cb) => store.touch("s", sessionFor(HOUR), cb))).error).toBeNull();
  });

  it("a node-redis client (connect-redis's `client`) is refused at once: give a url", () => {
    expect(() => new SessionManagerStore({ backend: "redis", client: client as never })).toThrow(
      /node-redis client/,
    );
  });

  it("data JSON would silently lose (a function) is refused with InvalidDataError, not dropped", async () => {
    const { store } = sessionManager();
    const session = { ...(sessionFor(HOUR) as object), fn: () => 1 } as never;
    expect((await called((cb) => store.set("s", session, cb))).error).toMatchObject({
      code: "INVALID_DATA",
    });
  });
});
