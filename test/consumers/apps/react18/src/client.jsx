import { hydrateRoot } from "react-dom/client";
import { SessionManager } from "sessionmanager-js/core";
import { indexedDBStore } from "sessionmanager-js/stores/indexeddb";
import { App } from "./App.jsx";

// What React reports while hydrating (a mismatch is a recoverable error in a production build).
window.hydrationErrors = [];
const namespace = "consumer-react18";
const manager = new SessionManager({ backend: indexedDBStore({ namespace }), namespace });
hydrateRoot(document.getElementById("root"), <App manager={manager} />, {
  onRecoverableError: (error) => window.hydrationErrors.push(String(error?.message ?? error)),
});
// Once loaded, a session for the hooks to show.
manager.ready.then(async () => {
  if (!(await manager.has("alice"))) {
    await manager.add("alice", { data: { name: "Alice (client)" }, ttl: "1h" });
  }
});
