import { type FormEvent, useEffect, useState } from "react";
import { isSessionError, type Session } from "sessionmanager-js/core";
import {
  useExpiringSoon,
  useManagerStatus,
  useSession,
  useTimeLeft,
} from "sessionmanager-js/react";
import { type Account, countdown, manager, SESSION_ID } from "./session.ts";

/** The sign-in screen, or the signed-in screen while the session lives. */
export function App() {
  const status = useManagerStatus(manager);
  const session = useSession(manager, SESSION_ID);
  const [expired, setExpired] = useState(false);

  // `expired` fires in every open tab of the page when the session runs out.
  useEffect(
    () =>
      manager.onExpired((ended) => {
        if (ended.id === SESSION_ID) setExpired(true);
      }),
    [],
  );

  if (status === "loading") return <p className="muted">Loading…</p>;
  return (
    <>
      {status === "degraded" && (
        <p className="muted">This browser keeps no sessions: you will be signed out on reload.</p>
      )}
      {session ? (
        <SignedIn session={session} />
      ) : (
        <SignIn expired={expired} onSignIn={() => setExpired(false)} />
      )}
    </>
  );
}

function SignIn({ expired, onSignIn }: { expired: boolean; onSignIn: () => void }) {
  const [name, setName] = useState("");
  const [error, setError] = useState("");

  async function submit(event: FormEvent) {
    event.preventDefault();
    setError("");
    try {
      await manager.add(SESSION_ID, { data: { name: name.trim() } });
      onSignIn();
    } catch (failure) {
      // Signed in meanwhile in another tab: this tab follows that session.
      if (isSessionError(failure) && failure.code === "SESSION_EXISTS") return;
      setError(failure instanceof Error ? failure.message : String(failure));
    }
  }

  return (
    <form onSubmit={submit}>
      <h1>Sign in</h1>
      {expired && <p role="status">Your session expired. Sign in again.</p>}
      <label>
        Name
        <input value={name} onChange={(event) => setName(event.target.value)} required />
      </label>
      <button type="submit">Sign in</button>
      {error && <p role="alert">{error}</p>}
    </form>
  );
}

function SignedIn({ session }: { session: Session<Account> }) {
  const left = useTimeLeft(manager, session.id);
  // The expiry the dialog asks about: it closes when the session is extended (here, by
  // activity or in another tab), since its expiresAt then moves.
  const [askedFor, setAskedFor] = useState<number>();

  useExpiringSoon(manager, (soon) => {
    if (soon.id === session.id) setAskedFor(soon.expiresAt);
  });
  // Pointer, keys, wheel and touch on the page keep the session alive (one write per throttle
  // window across all tabs): only an idle user sees the dialog.
  useEffect(() => manager.trackActivity(session.id), [session.id]);

  const signOut = () => manager.remove(session.id);
  return (
    <section>
      <h1>Signed in as {session.data.name}</h1>
      <p>
        Session ends in <time id="countdown">{countdown(left)}</time> unless you use the page.
      </p>
      <button type="button" onClick={signOut}>
        Sign out
      </button>
      {askedFor === session.expiresAt && (
        <dialog open aria-labelledby="ask">
          <p id="ask">Your session ends in {countdown(left)}. Stay signed in?</p>
          <button type="button" onClick={() => manager.touch(session.id)}>
            Stay signed in
          </button>
          <button type="button" onClick={signOut}>
            Sign out
          </button>
        </dialog>
      )}
    </section>
  );
}
