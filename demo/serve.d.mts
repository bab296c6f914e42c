import type { Server } from "node:http";
/** Serves the demo page and the script-tag bundle on 127.0.0.1 (`port` 0: a free one). */
export function startDemoServer(port?: number): Promise<Server>;
