// The writes of the realtime bench: open-loop at a fixed rate, all through one server process,
// each to an owner that has a stream open (on that process or the other). Every owner goes
// round one session's life, one step per write: create (`added`), touch (`touched`), replace
// (`updated`), remove (`removed`), then a new session. So each write is one change event on one
// stream, named by `key(owner, sessionId, event)`, and the writer knows when it sent each.
import { performance } from "node:perf_hooks";

const clock = () => performance.timeOrigin + performance.now();
const TTL_MS = 3_600_000;
const TICK_MS = 5;

/** The key that joins a write to the event it causes. */
export const key = (owner, sessionId, event) => `${owner}|${sessionId}|${event}`;

/** What step `step` of a session's life sends, and the event it causes. */
function request(url, token, sessionId, step, generation) {
  const path = `${url}/v1/sessions/${sessionId}`;
  const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
  switch (step) {
    case 0:
      return {
        event: "added",
        path,
        init: {
          method: "PUT",
          headers: { ...headers, "if-none-match": "*" },
          body: JSON.stringify({ data: { generation }, ttl: TTL_MS }),
        },
      };
    case 1:
      return {
        event: "touched",
        path: `${path}/touch`,
        init: { method: "POST", headers, body: "{}" },
      };
    case 2:
      return {
        event: "updated",
        path,
        init: {
          method: "PUT",
          headers,
          body: JSON.stringify({ data: { generation, updated: true } }),
        },
      };
    default:
      return { event: "removed", path, init: { method: "DELETE", headers } };
  }
}

/**
 * Writes through `url` to `owners` (`{ owner, token, side }`, side "within" when its stream is on
 * the process written to, "across" when on the other) at `rate` per second for `seconds`,
 * alternating between the sides when there are both. Resolves to one record per write:
 * `{ key, owner, client, side, event, sentAt, answeredAt, status }` (times epoch ms).
 */
export function createWriter(url, owners) {
  const state = owners.map(() => ({ generation: 0, step: 0, busy: false }));
  const sides = new Map();
  owners.forEach((o, i) => {
    if (!sides.has(o.side)) sides.set(o.side, { members: [], next: 0 });
    sides.get(o.side).members.push(i);
  });
  const order = [...sides.values()];
  let turn = 0;

  /** The next owner with no write under way, taking the sides in turn; undefined if all are busy. */
  const pick = () => {
    const side = order[turn++ % order.length];
    for (let tries = 0; tries < side.members.length; tries++) {
      const index = side.members[side.next++ % side.members.length];
      if (!state[index].busy) return index;
    }
    return undefined;
  };

  const writeOnce = async (index) => {
    const s = state[index];
    const { owner, token, side } = owners[index];
    const sessionId = `g${s.generation}`;
    const { event, path, init } = request(url, token, sessionId, s.step, s.generation);
    s.busy = true;
    const sentAt = clock();
    let status = 0;
    try {
      const response = await fetch(path, init);
      status = response.status;
      await response.arrayBuffer();
    } catch {
      status = -1;
    }
    const answeredAt = clock();
    s.busy = false;
    const ok = status === 200 || status === 201;
    // A failed write starts a new session, so that the next steps are not refused too.
    if (!ok || s.step === 3) {
      s.generation += 1;
      s.step = 0;
    } else s.step += 1;
    return {
      key: key(owner, sessionId, event),
      owner,
      client: index,
      side,
      event,
      sentAt,
      answeredAt,
      status,
    };
  };

  return {
    /** Writes at `rate`/s for `seconds`; resolves to the records once every write is answered. */
    async run(rate, seconds) {
      const records = [];
      const running = [];
      const started = performance.now();
      const end = started + seconds * 1000;
      let sent = 0;
      let skipped = 0;
      while (performance.now() < end) {
        const due = Math.floor(((performance.now() - started) / 1000) * rate);
        while (sent < due) {
          sent += 1;
          const index = pick();
          if (index === undefined) {
            skipped += 1;
            continue;
          }
          running.push(writeOnce(index).then((r) => records.push(r)));
        }
        await new Promise((resolve) => setTimeout(resolve, TICK_MS));
      }
      await Promise.all(running);
      return { records, skipped, seconds: (performance.now() - started) / 1000 };
    },
  };
}
