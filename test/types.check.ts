// Type tests, checked by `tsc -p test/tsconfig.json` (part of `npm test`): what must compile, and,
// under @ts-expect-error, what must not. An expect-error line that compiles fails the check.

import { SessionManager as CoreSessionManager } from "../src/core.ts";
import { encryption } from "../src/crypto/index.ts";
import {
  type Duration,
  isSessionError,
  type Session,
  SessionManager,
  type SessionStore,
} from "../src/index.ts";
import { memoryStore } from "../src/stores/memory.ts";
import { sync } from "../src/sync/index.ts";

declare const redis: import("ioredis").Redis;
declare const pool: import("pg").Pool;

type User = { name: string; roles: string[] };

export async function compiles(): Promise<void> {
  const sm = new SessionManager<User>({
    backend: memoryStore(),
    defaultTtl: "30m",
    warnBefore: 60_000,
  });
  const s: Session<User> = await sm.add("a", { data: { name: "Ada", roles: [] }, ttl: "15m" });
  const name: string = s.data.name;
  const maybe: Session<User> | undefined = await sm.get("a");
  await sm.update("a", (old) => ({ ...old, roles: [...old.roles, "admin"] }));
  await sm.touch("a", 1000);
  sm.onExpiringSoon((session, msLeft: number) => session.data.name + msLeft);
  sm.on("updated", (session, previous) => session.version > previous.version);
  sm.on("error", (error: Error) => error.message);
  const off: () => void = sm.on("removed", () => {});
  off();

  // Without a data type, data is optional (absent means null).
  const loose = new SessionManager();
  await loose.add("b");
  await loose.add("c", { data: { anything: [1, "two"] } });

  const durations: Duration[] = [1, "500ms", "30s", "15m", "2h", "7d", "1.5h"];
  const store: SessionStore = memoryStore({ namespace: "x" });
  new SessionManager({ backend: store });

  // A Node backend by name takes its store's options beside it, a shared client included.
  new SessionManager({ backend: "redis", client: redis, grace: 5000, cache: { max: 100 } });
  new SessionManager({ backend: "postgres", client: pool, table: "app.sessions" });
  new SessionManager({ backend: "file", path: "sessions.csv", format: "csv" });

  // The core entry takes objects; the root entry takes them too.
  const key = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, ["encrypt"]);
  const parts = { encryption: encryption({ key }), remote: sync({ url: "/api", token: "t" }) };
  const core = new CoreSessionManager<User>({ backend: store, ...parts });
  const fromCore: Session<User> | undefined = await core.get("a");
  new SessionManager({ backend: store, ...parts });

  const error: unknown = new Error();
  if (isSessionError(error) && error.code === "SESSION_EXISTS") error.id.toUpperCase();
  void [name, maybe, durations, fromCore];
}

export async function mustNotCompile(): Promise<void> {
  const sm = new SessionManager<User>();
  // @ts-expect-error data is required when the data type does not admit null
  await sm.add("a");
  // @ts-expect-error data must match the data type
  await sm.add("a", { data: { name: 1 } });
  // @ts-expect-error an unknown duration unit
  await sm.add("a", { data: { name: "x", roles: [] }, ttl: "15x" });
  // @ts-expect-error an unknown event
  sm.on("logout", () => {});
  // @ts-expect-error an unknown backend name
  new SessionManager({ backend: "memcache" });
  // @ts-expect-error the file backend needs its path
  new SessionManager({ backend: "file" });
  // @ts-expect-error a Redis client is no PostgreSQL client
  new SessionManager({ backend: "postgres", client: redis });
  // @ts-expect-error the core entry takes a store object, not a name
  new CoreSessionManager({ backend: "indexedDB" });
  // @ts-expect-error nor plain encryption options: encryption({ key }) from the crypto entry
  new CoreSessionManager({ encryption: { key: {} as CryptoKey } });
  // @ts-expect-error nor plain remote options: sync({ url, token }) from the remote entry
  new CoreSessionManager({ remote: { url: "/api", token: "t" } });
  const s = await sm.getOrThrow("a");
  // @ts-expect-error sessions are read-only: use touch or update
  s.expiresAt = 0;
}
