import { renderToString } from "react-dom/server";
import { SessionManager } from "sessionmanager-js/core";
import { memoryStore } from "sessionmanager-js/stores/memory";
import { App } from "./App.jsx";

/**
 * The page's HTML as the server renders it. The manager here is ready and holds a session, yet
 * the hooks must render what the client renders while hydrating: nothing loaded.
 */
export async function render() {
  const manager = new SessionManager({ backend: memoryStore() });
  await manager.ready;
  await manager.add("alice", { data: { name: "Alice (server)" } });
  try {
    return renderToString(<App manager={manager} />);
  } finally {
    await manager.close();
  }
}
