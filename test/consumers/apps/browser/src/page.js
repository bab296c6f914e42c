// A page on IndexedDB through the root entry.
import { SessionManager } from "sessionmanager-js";
import { indexedDBStore } from "sessionmanager-js/stores/indexeddb";

const manager = new SessionManager({ backend: indexedDBStore({ namespace: "page" }) });
manager.add("visitor", { ttl: "15m" }).then((session) => {
  document.getElementById("state").textContent = `added ${session.id}`;
});
