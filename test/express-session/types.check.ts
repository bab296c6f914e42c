// Type tests of SessionManagerStore, checked by `tsc -p test/tsconfig.json`: what must compile,
// and, under @ts-expect-error, what must not.
import session, { type SessionData, type Store } from "express-session";
import { SessionManager as CoreSessionManager } from "../../src/core.ts";
import { SessionManagerStore } from "../../src/express-session/index.ts";
import { SessionManager } from "../../src/node.ts";

export async function compiles(): Promise<void> {
  const redis = new SessionManagerStore({ backend: "redis", url: "redis://127.0.0.1:6379" });
  const sqlite = new SessionManagerStore({ backend: "sqlite", path: "s.db", ttl: "1h" });
  const byDefault = new SessionManagerStore();
  const mine = new SessionManagerStore({ manager: new SessionManager(), disableTouch: true });
  const core = new SessionManagerStore({ manager: new CoreSessionManager<{ a: number }>() });
  const dynamic = new SessionManagerStore({
    ttl: (s: SessionData) => (s.cookie.secure ? 60 : 3600),
  });
  // express-session takes it as its store.
  const stores: Store[] = [redis, sqlite, byDefault, mine, core, dynamic];
  session({ store: redis, secret: "s", resave: false, saveUninitialized: false });
  // Callbacks, or promises without them.
  redis.get("sid", (error: unknown, value?: SessionData | null) => void [error, value]);
  const found: SessionData | null = await redis.get("sid");
  const ids: string[] = await redis.ids();
  const count: number = await redis.length();
  const listed: string = (await redis.all())[0]?.id ?? "";
  // The manager's events, typed by express-session's SessionData.
  redis.manager.onExpiringSoon((s, msLeft: number) => void [s.data.cookie, msLeft]);
  await redis.close();
  void [stores, found, ids, count, listed];
}

export function refused(): void {
  // @ts-expect-error a manager, or options that would build one: not both
  new SessionManagerStore({ manager: new SessionManager(), backend: "memory" });
  // @ts-expect-error ttl is seconds or a duration string, not any string
  new SessionManagerStore({ ttl: "a day" });
  // @ts-expect-error a backend's options must match it
  new SessionManagerStore({ backend: "sqlite", url: "redis://127.0.0.1:6379" });
}
