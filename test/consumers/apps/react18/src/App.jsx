import { useEffect, version } from "react";
import { useManagerStatus, useSession, useSessions, useTimeLeft } from "sessionmanager-js/react";

/** What the hooks say, one line each; `data-hydrated` once React took over the server's HTML. */
export function App({ manager }) {
  const status = useManagerStatus(manager);
  const sessions = useSessions(manager);
  const alice = useSession(manager, "alice");
  const left = useTimeLeft(manager, "alice");
  useEffect(() => {
    document.body.dataset.hydrated = "yes";
  }, []);
  return (
    <dl>
      <dt>React</dt>
      <dd id="react">{version}</dd>
      <dt>status</dt>
      <dd id="status">{status}</dd>
      <dt>sessions</dt>
      <dd id="count">{sessions.length}</dd>
      <dt>alice</dt>
      <dd id="alice">{alice ? alice.data.name : "none"}</dd>
      <dt>time left</dt>
      <dd id="left">{left === undefined ? "none" : `${Math.ceil(left / 1000)} s`}</dd>
    </dl>
  );
}
