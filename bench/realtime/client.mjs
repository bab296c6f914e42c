// The load generator of the realtime bench, in its own process so that reading thousands of
// streams does not share an event loop with a server or with the writer. Driven over IPC:
//
//   { type: "open", streams: [{ owner, url, token }], concurrency }
//       opens `GET /v1/events` for each (Node's fetch, one connection each), reads every stream
//       as server-sent events, and answers { type: "opened", open, failed, errors, ms } once
//       each has said `ready` (or failed). Every change event is then reported, batched, as
//       { type: "receipts", list: [[owner, sessionId, event, receivedAt]] }
//   { type: "close" }  -> ends every stream; { type: "closed" }
//   { type: "loop" } -> { type: "loop", p50, p99, max }: this process's event-loop delay (ms) since
//       the last ask: a late reader adds its own delay to every latency measured
//   { type: "poll", targets: [{ owner, url, token }], rate, seconds, concurrency }
//       `GET /v1/changes?since=<the owner's last event id>` at `rate` requests/s, round the
//       targets, for `seconds`; { type: "polled", requests, errors, latency, rate }
//
// Times are epoch ms with sub-ms precision (performance.timeOrigin + performance.now()), the same
// clock the writer in the parent uses.
import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import { percentiles } from "./stats.mjs";

const FLUSH_MS = 100;
const DELAY_RESOLUTION_MS = 10;
const delay = monitorEventLoopDelay({ resolution: DELAY_RESOLUTION_MS });
delay.enable();
const CHANGE_EVENTS = new Set(["added", "touched", "updated", "removed", "expired"]);
const clock = () => performance.timeOrigin + performance.now();

/** Open streams by owner: `{ controller, lastId }`. */
const streams = new Map();
/** Last event id (change-log cursor) of each owner, kept after its stream closes (for polling). */
const cursors = new Map();
const unusual = new Map();
let pending = [];

setInterval(() => {
  if (pending.length === 0) return;
  process.send({ type: "receipts", list: pending });
  pending = [];
}, FLUSH_MS).unref();

/** Reads `body` as an event stream: calls `onEvent(name, data, id, receivedAt)` per event. */
async function readEvents(body, onEvent) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let event = { name: undefined, data: undefined, id: undefined };
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    const at = clock();
    buffer += value;
    const lines = buffer.split(/\r\n|\r|\n/);
    buffer = lines.pop() ?? "";
    for (const line of lines) {
      if (line === "") {
        if (event.name !== undefined || event.data !== undefined) {
          onEvent(event.name ?? "message", event.data, event.id, at);
        }
        event = { name: undefined, data: undefined, id: undefined };
      } else if (!line.startsWith(":")) {
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        const text = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "event") event.name = text;
        else if (field === "data")
          event.data = event.data === undefined ? text : `${event.data}\n${text}`;
        else if (field === "id") event.id = text;
      }
    }
  }
}

/** Opens one stream; resolves once it says `ready`, rejects if it fails first. */
function openStream({ owner, url, token }) {
  const controller = new AbortController();
  return new Promise((resolve, reject) => {
    const onEvent = (name, data, id, at) => {
      if (id) cursors.set(owner, id);
      if (name === "ready") resolve();
      else if (CHANGE_EVENTS.has(name)) pending.push([owner, JSON.parse(data).id, name, at]);
      else unusual.set(name, (unusual.get(name) ?? 0) + 1);
    };
    fetch(`${url}/v1/events`, {
      headers: { authorization: `Bearer ${token}` },
      signal: controller.signal,
    })
      .then(async (response) => {
        if (response.status !== 200) {
          reject(new Error(`${response.status} ${await response.text()}`));
          return;
        }
        streams.set(owner, controller);
        await readEvents(response.body, onEvent);
        reject(new Error("the stream ended before ready"));
      })
      .catch((error) => {
        reject(error);
      })
      .finally(() => {
        if (streams.get(owner) === controller) streams.delete(owner);
      });
  });
}

async function open({ streams: list, concurrency }) {
  const started = performance.now();
  let next = 0;
  let failed = 0;
  const errors = new Map();
  const worker = async () => {
    while (next < list.length) {
      const target = list[next++];
      try {
        await openStream(target);
      } catch (error) {
        failed += 1;
        const key = String(error?.cause?.code ?? error?.message ?? error).slice(0, 120);
        errors.set(key, (errors.get(key) ?? 0) + 1);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return {
    type: "opened",
    open: streams.size,
    failed,
    errors: [...errors],
    ms: performance.now() - started,
  };
}

async function close() {
  for (const controller of streams.values()) controller.abort();
  // Let the aborted reads settle before the parent measures the servers.
  while (streams.size > 0) await new Promise((resolve) => setTimeout(resolve, 20));
  return { type: "closed", unusual: [...unusual] };
}

/** One poll; resolves to its round trip in ms, or throws. */
async function pollOnce({ owner, url, token }) {
  const since = cursors.get(owner);
  const query = since === undefined ? "" : `?since=${encodeURIComponent(since)}`;
  const started = performance.now();
  const response = await fetch(`${url}/v1/changes${query}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  const body = await response.json();
  if (response.status !== 200) throw new Error(`${response.status} ${body?.error?.code}`);
  if (typeof body.cursor === "string") cursors.set(owner, body.cursor);
  return performance.now() - started;
}

/** Polls open-loop at `rate`/s (at most `concurrency` under way; a request that cannot start waits). */
async function poll({ targets, rate, seconds, concurrency }) {
  const latencies = [];
  let errors = 0;
  let sent = 0;
  let inFlight = 0;
  const started = performance.now();
  const end = started + seconds * 1000;
  const running = new Set();
  while (performance.now() < end) {
    const due = Math.floor(((performance.now() - started) / 1000) * rate);
    while (sent < due && inFlight < concurrency) {
      const target = targets[sent % targets.length];
      sent += 1;
      inFlight += 1;
      const request = pollOnce(target)
        .then((ms) => latencies.push(ms))
        .catch(() => {
          errors += 1;
        })
        .finally(() => {
          inFlight -= 1;
          running.delete(request);
        });
      running.add(request);
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  await Promise.all(running);
  const elapsed = (performance.now() - started) / 1000;
  return {
    type: "polled",
    requests: sent,
    errors,
    rate: sent / elapsed,
    latency: percentiles(latencies),
  };
}

/** The event-loop delay since the last call (ms, the sampling interval taken off). */
function loop() {
  const ms = (ns) => Math.max(0, ns / 1e6 - DELAY_RESOLUTION_MS);
  const reading = {
    type: "loop",
    p50: ms(delay.percentile(50)),
    p99: ms(delay.percentile(99)),
    max: ms(delay.max),
  };
  delay.reset();
  return reading;
}

const handlers = { open, close, poll, loop };
process.on("message", async (message) => {
  const handler = handlers[message?.type];
  if (!handler) return;
  try {
    process.send(await handler(message));
  } catch (error) {
    process.send({ type: "error", message: String(error?.stack ?? error) });
  }
});
process.once("disconnect", () => process.exit(0));
process.send({ type: "started" });
