// Reads a `text/event-stream` response as the HTML spec's EventSource parses it: events (name,
// data, id) and comments, so tests can wait for what a server sent.

/** One message of an event stream: a comment has `comment` and nothing else. */
export interface SseMessage {
  event?: string;
  data?: string;
  id?: string;
  comment?: string;
}

/** What was read from a stream so far, and ways to wait for more. */
export interface SseReader {
  readonly messages: SseMessage[];
  /** The events (not comments) read so far. */
  readonly events: SseMessage[];
  /** Resolves once `done(events)` holds; rejects after `timeout` ms or when the stream ended first. */
  until(done: (events: SseMessage[]) => boolean, timeout?: number): Promise<SseMessage[]>;
  /** Resolves when the server ended the stream. */
  readonly ended: Promise<void>;
  /** Stops reading (the client goes away). */
  close(): Promise<void>;
}

/** Starts reading `response`'s body as an event stream. */
export function readEvents(response: Response): SseReader {
  const messages: SseMessage[] = [];
  const body = response.body;
  if (!body) throw new Error("no body");
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let finished = false;
  let pending: SseMessage = {};
  let buffer = "";
  const line = (text: string) => {
    if (text === "") {
      if (Object.keys(pending).length > 0) messages.push(pending);
      pending = {};
      return;
    }
    if (text.startsWith(":")) {
      messages.push({ comment: text.slice(1).trim() });
      return;
    }
    const colon = text.indexOf(":");
    const field = colon < 0 ? text : text.slice(0, colon);
    const value = colon < 0 ? "" : text.slice(colon + 1).replace(/^ /, "");
    if (field === "data")
      pending.data = pending.data === undefined ? value : `${pending.data}\n${value}`;
    else if (field === "event" || field === "id") pending[field] = value;
  };
  const ended = (async () => {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        buffer += value;
        const lines = buffer.split(/\r\n|\r|\n/);
        buffer = lines.pop() ?? "";
        for (const text of lines) line(text);
      }
    } catch {
      // cancelled by `close`
    } finally {
      finished = true;
    }
  })();
  const events = () => messages.filter((m) => m.comment === undefined);
  return {
    messages,
    get events() {
      return events();
    },
    async until(done, timeout = 5000) {
      const deadline = Date.now() + timeout;
      while (!done(events())) {
        if (finished) throw new Error(`the stream ended; events: ${JSON.stringify(events())}`);
        if (Date.now() > deadline) {
          throw new Error(`not heard in ${timeout} ms; events: ${JSON.stringify(events())}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      return events();
    },
    ended,
    async close() {
      await reader.cancel().catch(() => {});
      await ended;
    },
  };
}

/** The names of `events`, `ready` and `resync` included. */
export function names(events: SseMessage[]): string[] {
  return events.map((e) => e.event ?? "message");
}

/**
 * Opens `GET <url>/v1/events` with `bearer` (and `Last-Event-ID` when given) over HTTP, fails the
 * test unless it answers 200, and resolves once the stream said `ready`. Close it when done.
 */
export async function openStream(
  url: string,
  bearer: string,
  lastEventId?: string,
): Promise<SseReader> {
  const headers: Record<string, string> = { authorization: `Bearer ${bearer}` };
  if (lastEventId) headers["last-event-id"] = lastEventId;
  const response = await fetch(`${url}/v1/events`, { headers });
  if (response.status !== 200) {
    throw new Error(`GET /v1/events answered ${response.status}: ${await response.text()}`);
  }
  const reader = readEvents(response);
  await reader.until((e) => e.some((m) => m.event === "ready"));
  return reader;
}
