"use client";
// A client component: the manager on IndexedDB, in the page only.
import { useEffect, useState } from "react";
import { SessionManager } from "sessionmanager-js";
import { indexedDBStore } from "sessionmanager-js/stores/indexeddb";

export function Sessions() {
  const [state, setState] = useState("loading");
  useEffect(() => {
    const manager = new SessionManager({ backend: indexedDBStore({ namespace: "next-client" }) });
    manager
      .add("visitor", { ttl: "15m" })
      .then((session) => setState(`added ${session.id}`))
      .catch((error: unknown) => setState(String(error)));
    return () => void manager.close();
  }, []);
  return <p>{state}</p>;
}
