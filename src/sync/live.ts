// `remote.live`: the event stream (`GET /v1/events`) a remote store or replica keeps open while
// it runs. An event is only a cue: the store pulls, as it does every `pullInterval`, so what it
// hears goes through one path (no echo of its own writes, no resurrection, data opened before
// listeners see it). Reconnected with backoff and full jitter, resumed after the last event id;
// in a browser one tab per namespace holds it (a Web Lock), the others hear through the tabs.
import { AuthError, BackendError } from "../errors.ts";
import { EVENTS, HEARTBEAT_MS } from "../protocol.ts";
import { unref } from "../timers.ts";
import type { RemoteClient } from "./client.ts";
import { readSse } from "./sse.ts";

// Reconnects wait a random time up to this, doubled after each failure up to the most; a
// stream that got as far as `ready` starts the count again.
const FIRST_DELAY_MS = 1000;
const MAX_DELAY_MS = 30_000;
// Nothing heard for this long (a heartbeat comes every HEARTBEAT_MS): the connection is dead
// though not closed (a laptop that slept, a proxy that dropped it): connect again.
const SILENCE_MS = 3 * HEARTBEAT_MS;

/**
 * Keeps `client`'s event stream open and calls `cue` for every event (`ready` and `resync`
 * too), until the returned function is called, or for good when the server has no feed (501)
 * or refuses a token that cannot change. With `lock` and Web Locks, only while this context
 * holds the lock `lock`: one stream per lock name across the tabs. @internal
 * @example
 * const stop = follow(client, () => void store.sync(), "sessionmanager:app:live");
 */
export function follow(client: RemoteClient, cue: () => void, lock?: string): () => void {
  const stop = new AbortController();
  const { signal } = stop;
  const locks = typeof navigator === "undefined" ? undefined : navigator.locks;
  const run = () => stream(client, cue, signal);
  (lock && locks ? locks.request(lock, { signal }, run) : run()).catch(() => {});
  return () => stop.abort();
}

/** Connects, reads, and connects again until `signal` aborts or the server says never. */
async function stream(client: RemoteClient, cue: () => void, signal: AbortSignal): Promise<void> {
  let lastId: string | undefined;
  let failures = 0;
  while (!signal.aborted) {
    const attempt = new AbortController();
    const abort = () => attempt.abort();
    signal.addEventListener("abort", abort);
    let silence: ReturnType<typeof setTimeout> | undefined;
    const heard = () => {
      clearTimeout(silence);
      silence = unref(setTimeout(abort, SILENCE_MS));
    };
    try {
      heard();
      const body = await client.events(lastId, attempt.signal);
      await readSse(
        body,
        ({ event, id }) => {
          if (id !== undefined) lastId = id || undefined;
          if (event === "ready") failures = 0;
          if (EVENTS.includes(event)) cue();
        },
        heard,
        attempt.signal,
      );
      // The server ended it: when the token expired, say. The next one asks for a token again.
      client.renewToken();
    } catch (error) {
      if (signal.aborted) break;
      // No feed (501 NOT_SUPPORTED): the store polls. A refused token that cannot change.
      if (error instanceof BackendError && error.status === 501) return;
      if (error instanceof AuthError && !client.renewToken()) return;
    } finally {
      clearTimeout(silence);
      signal.removeEventListener("abort", abort);
    }
    const ceiling = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** failures++);
    await sleep(Math.random() * ceiling, signal);
  }
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = unref(setTimeout(done, ms));
    signal.addEventListener("abort", done);
  });
}
