// The same page through the core entry, which takes the store as an object.
import { SessionManager } from "sessionmanager-js/core";
import { indexedDBStore } from "sessionmanager-js/stores/indexeddb";

const manager = new SessionManager({ backend: indexedDBStore({ namespace: "page" }) });
manager.add("visitor", { ttl: "15m" }).then((session) => {
  document.getElementById("state").textContent = `added ${session.id}`;
});
