import type { Server } from "node:http";
/**
 * Serves the demo page, the script-tag bundle and a session server on 127.0.0.1 (`port` 0: a
 * free one): on SQLite at `db` (default demo/.sessions.db; ":memory:" for tests), or on
 * `backend` ("redis", "postgres", "memcached", "file") at `url` or `path`.
 */
export function startDemoServer(
  port?: number,
  options?: { db?: string; backend?: string; url?: string; path?: string },
): Promise<Server>;
