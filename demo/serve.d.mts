import type { Server } from "node:http";
/**
 * Serves the demo page, the script-tag bundle and a session server on SQLite at `db` (default
 * demo/.sessions.db; ":memory:" for tests) on 127.0.0.1 (`port` 0: a free one).
 */
export function startDemoServer(port?: number, options?: { db?: string }): Promise<Server>;
