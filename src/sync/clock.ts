// The boundary with the server's copies of sessions. The server is the authority on time (it
// sets createdAt, updatedAt, expiresAt), so times are converted where records cross: coming in
// they move into the local clock, expiry going out into the server's. Then the manager's one
// timer, which runs on the local clock, fires when the server's clock says so.

import { BackendError } from "../errors.ts";
import type { WireSession } from "../protocol.ts";
import { deepFreeze } from "../stores/record.ts";
import type { SessionRecord } from "../stores/types.ts";
import { isRecord } from "./changes.ts";

// Both clocks count whole milliseconds: a reading may be up to 1 ms behind the true instant.
const RESOLUTION_MS = 1;

/**
 * An estimate of `server − local` in milliseconds, from the time header of every response.
 * A response read the server's clock somewhere between the moment the request left and the
 * moment its answer arrived, which bounds the offset; the estimate is the middle of that
 * interval. It moves only when a new sample proves it wrong (its interval excludes the
 * estimate: the clocks jumped or drifted) or when a sample is tighter (a lower round trip) than
 * the one it came from, so a fast sample outweighs a slow one and times that go out and come
 * back are converted by the same offset.
 * @example
 * const clock = new ServerClock();
 * clock.sample(sent, Date.now(), Number(response.headers.get(TIME_HEADER)));
 * const localExpiry = clock.toLocal(session.expiresAt);
 */
export class ServerClock {
  /** `server − local`, in ms; 0 until the first sample. */
  offset = 0;
  /** The round trip of the sample the estimate comes from (Infinity before any). */
  rtt: number = Number.POSITIVE_INFINITY;

  /** A response stamped `serverTime` by the server, sent at `sent` and received at `received`. */
  sample(sent: number, received: number, serverTime: number): void {
    const rtt = received - sent;
    // The offset the sample measures, give or take half its round trip (and the resolution).
    const middle = serverTime - (sent + received) / 2;
    // `rtt >= 0` is also false for NaN: a sample without a time, or one that ran backwards.
    if (!(rtt >= 0 && Number.isFinite(middle))) return;
    if (rtt < this.rtt || Math.abs(middle - this.offset) > rtt / 2 + RESOLUTION_MS) {
      this.offset = Math.round(middle) + 0; // + 0: never -0
      this.rtt = rtt;
    }
  }

  /** A server time in the local clock. */
  toLocal(serverTime: number): number {
    return serverTime - this.offset;
  }

  /** A local time in the server's clock. */
  toServer(localTime: number): number {
    return localTime + this.offset;
  }
}

/** A server's copy of a session: in the local clock, and as it came (in the server's). */
export type Incoming = { readonly record: SessionRecord; readonly wire: WireSession };

/**
 * A session from the server, checked, frozen as the manager's own records are, with its times
 * moved into the local clock; `BackendError` for what is not a session.
 */
export function fromWire(wire: unknown, clock: ServerClock): Incoming {
  if (!isWireSession(wire)) {
    throw new BackendError("the session server sent a session that is not one");
  }
  const { id, createdAt, updatedAt, expiresAt, ttl, version, maxAge } = wire;
  const times = {
    id,
    data: deepFreeze(wire.data ?? null),
    createdAt: clock.toLocal(createdAt),
    updatedAt: clock.toLocal(updatedAt),
    expiresAt: clock.toLocal(expiresAt),
    ttl,
    version,
  };
  // maxAge is a duration: the same in either clock.
  const record = maxAge === undefined ? times : { ...times, maxAge };
  return {
    record: Object.freeze(wire.encrypted === true ? { ...record, encrypted: true } : record),
    wire,
  };
}

/** Whether `wire` has a session's id and times (its data is whatever JSON it holds). */
function isWireSession(wire: unknown): wire is WireSession {
  if (!isRecord(wire)) return false;
  const { id, createdAt, updatedAt, expiresAt, ttl, version, maxAge } = wire;
  return (
    typeof id === "string" &&
    [createdAt, updatedAt, expiresAt, ttl, version].every(Number.isFinite) &&
    (maxAge === undefined || (Number.isFinite(maxAge) && (maxAge as number) > 0))
  );
}
