import { readRecord, toStoredObject } from "./stores/record.ts";
import type { SessionRecord } from "./types.ts";
import { CHANGES, type Change } from "./types.ts";

/** A channel to the other managers of one namespace in this origin (tabs, workers, frames). */
export interface TabChannel {
  /** Tells the other tabs about a change (sent at the end of the task, with the task's others). */
  post(event: Change, records: SessionRecord[]): void;
  close(): void;
  /**
   * Runs `fn` unless another tab of the namespace is sweeping right now (Web Locks), and resolves
   * to its result, or to `undefined` when busy. Absent where the browser has no `navigator.locks`
   * (conditional deletes keep sweeping correct there: only one tab's delete succeeds).
   */
  sweep?: <T>(fn: () => T | PromiseLike<T>) => Promise<T | undefined>;
}

/**
 * Opens a channel named `name` to the other tabs of the origin, or returns `undefined` where
 * there is none. Messages reach every other channel of that name, never the sender. What one
 * task posts goes as one message at its end: 10,000 adds in one task cost one structured clone,
 * not 10,000. `BroadcastChannel` carries them; where it is missing (Safari before 15.4), the
 * `storage` event of a localStorage key does.
 */
export function openTabChannel(
  name: string,
  onChange: (event: Change, records: SessionRecord[]) => void,
  report: (error: unknown) => void,
): TabChannel | undefined {
  const receive = (batch: unknown) => {
    if (!Array.isArray(batch)) return;
    for (const message of batch) {
      try {
        const change = readTabMessage(message);
        if (change) onChange(...change);
      } catch (error) {
        report(error);
      }
    }
  };
  const transport = broadcastChannel(name, receive) ?? storageEvents(name, receive);
  if (!transport) return undefined;
  let outbox: unknown[] = [];
  const flush = () => {
    if (outbox.length === 0) return;
    const batch = outbox;
    outbox = [];
    try {
      transport.send(batch);
    } catch (error) {
      report(error); // a full localStorage, say: this tab's own change stands
    }
  };
  const { locks } = (globalThis as { navigator?: { locks?: LockManager | null } }).navigator ?? {};
  return {
    ...(locks && {
      // The lock is released when fn settles, before the caller fires any event.
      sweep: <T>(fn: () => T | PromiseLike<T>) =>
        locks.request(`${name}:sweep`, { ifAvailable: true }, async (lock) =>
          lock ? fn() : undefined,
        ) as Promise<T | undefined>,
    }),
    post(event, records) {
      if (outbox.push(tabMessage(event, records)) === 1) queueMicrotask(flush);
    },
    close() {
      flush();
      transport.close();
    },
  };
}

type Transport = { send(batch: unknown[]): void; close(): void };

function broadcastChannel(name: string, receive: (batch: unknown) => void): Transport | undefined {
  const { BroadcastChannel: Channel } = globalThis as {
    BroadcastChannel?: typeof BroadcastChannel;
  };
  if (!Channel) return undefined;
  const channel = new Channel(name);
  // In Node a BroadcastChannel keeps the process alive until closed, unless unref'd.
  (channel as { unref?: () => void }).unref?.();
  channel.onmessage = (event) => receive(event.data);
  return { send: (batch) => channel.postMessage(batch), close: () => channel.close() };
}

/**
 * Messages through localStorage: writing a key fires `storage` in the other tabs of the origin
 * (never in the writer). Each message is written under a fresh nonce, since writing the same
 * value twice fires nothing, and removed at once so that nothing stays behind.
 */
function storageEvents(name: string, receive: (batch: unknown) => void): Transport | undefined {
  const page = globalThis as unknown as Partial<Window>;
  let storage: Storage | undefined;
  try {
    storage = page.localStorage;
  } catch {
    return undefined; // blocked: no other tab can hear this one either
  }
  if (!storage || typeof page.addEventListener !== "function") return undefined;
  // Not `<name>:message`: the localStorage store keeps the session "message" there.
  const key = `${name}\u0000message`;
  const listener = (event: StorageEvent) => {
    if (event.key !== key || !event.newValue) return;
    try {
      receive((JSON.parse(event.newValue) as { batch?: unknown }).batch);
    } catch {
      // Not ours (or not JSON): ignore, as BroadcastChannel would ignore a foreign message.
    }
  };
  page.addEventListener("storage", listener);
  return {
    send(batch) {
      (storage as Storage).setItem(key, JSON.stringify({ nonce: Math.random(), batch }));
      (storage as Storage).removeItem(key);
    },
    close: () => page.removeEventListener?.("storage", listener),
  };
}

/** The message that tells the other tabs about `event`. */
function tabMessage(event: Change, records: SessionRecord[]): unknown {
  return { event, records: records.map(toStoredObject) };
}

/**
 * The event and records of a message from another tab; `undefined` for what is not such a
 * message. Records get the checks stored records get (another tab may run another version of
 * the SDK): one that cannot be read throws `BackendError`.
 */
function readTabMessage(message: unknown): [Change, SessionRecord[]] | undefined {
  const { event, records } = (message ?? {}) as { event?: unknown; records?: unknown };
  if (typeof event !== "string" || !CHANGES.includes(event) || !Array.isArray(records)) return;
  return [event as Change, records.map((r) => readRecord(r, `from another tab (${event})`))];
}
