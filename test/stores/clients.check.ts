// Type tests, checked by `tsc -p test/tsconfig.json`: the real drivers' clients fit the client
// types the stores declare (RedisClient, PostgresClient, MemcachedClient, SqliteDatabase), which
// name no driver package. An expect-error line that compiles fails the check.

import Database from "better-sqlite3";
import { Redis } from "ioredis";
import memjs from "memjs";
import pg from "pg";
import { SessionManager } from "../../src/index.ts";
import { memcachedStore } from "../../src/stores/memcached/index.ts";
import { postgresStore } from "../../src/stores/postgres.ts";
import { redisStore } from "../../src/stores/redis.ts";
import { sqliteStore } from "../../src/stores/sqlite.ts";

export async function compiles(): Promise<void> {
  new SessionManager({ backend: redisStore({ client: new Redis({ lazyConnect: true }) }) });
  new SessionManager({ backend: postgresStore({ client: new pg.Pool() }) });
  postgresStore({ client: new pg.Client() });
  postgresStore({ client: await new pg.Pool().connect() });
  new SessionManager({
    backend: memcachedStore({ client: memjs.Client.create("localhost:11211") }),
  });
  new SessionManager({ backend: sqliteStore({ database: new Database(":memory:") }) });
}

export function refuses(): void {
  // @ts-expect-error: a pg pool is not a Redis client
  redisStore({ client: new pg.Pool() });
  // @ts-expect-error: an ioredis client is not a pg client
  postgresStore({ client: new Redis() });
  // @ts-expect-error: nor a memjs client
  memcachedStore({ client: new Redis() });
  // @ts-expect-error: a database path is not a database
  sqliteStore({ database: ":memory:" });
}
