// A reader of `text/event-stream` bodies, as the HTML spec's EventSource parses them: fetch
// streaming rather than `EventSource`, which cannot send the token as a header.

/** One event of a stream: its name (`message` when it has none), data and `id` if it had one. */
export interface SseEvent {
  readonly event: string;
  readonly data: string;
  readonly id: string | undefined;
}

/**
 * Reads `body` until it ends or `signal` aborts, calling `onEvent` for each event and `onChunk`
 * for every chunk that arrives, comments (heartbeats) included. @internal
 * @example
 * await readSse(response.body, (e) => console.log(e.event, e.data), () => {}, signal);
 */
export async function readSse(
  body: ReadableStream<Uint8Array>,
  onEvent: (event: SseEvent) => void,
  onChunk: () => void,
  signal?: AbortSignal,
): Promise<void> {
  const reader = body.getReader();
  // A body that is no fetch's (a server's `fetch` called in process) ignores the request's
  // signal: cancelled here, its pending read ends.
  const cancel = () => void reader.cancel().catch(() => {});
  signal?.addEventListener("abort", cancel);
  if (signal?.aborted) cancel();
  const decoder = new TextDecoder(); // drops a leading BOM, as the spec asks
  let buffer = "";
  let event = "";
  let data: string | undefined;
  let id: string | undefined;
  const line = (text: string) => {
    if (text === "") {
      if (data !== undefined || id !== undefined)
        onEvent({ event: event || "message", data: data ?? "", id });
      event = "";
      data = id = undefined;
      return;
    }
    const colon = text.indexOf(":");
    if (colon === 0) return; // a comment
    const field = colon < 0 ? text : text.slice(0, colon);
    const value = colon < 0 ? "" : text.slice(colon + (text[colon + 1] === " " ? 2 : 1));
    if (field === "event") event = value;
    else if (field === "data") data = data === undefined ? value : `${data}\n${value}`;
    else if (field === "id" && !value.includes("\0")) id = value;
  };
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (!done) onChunk();
      // At the end, a "\r" held back below ends its line after all.
      if (!done) buffer += decoder.decode(value, { stream: true });
      else if (buffer.endsWith("\r")) buffer += "\n";
      // A "\r" at the end may be the first half of a "\r\n": it waits for the next chunk.
      const cut = buffer.length - (buffer.endsWith("\r") ? 1 : 0);
      const lines = buffer.slice(0, cut).split(/\r\n|\r|\n/);
      buffer = (lines.pop() ?? "") + buffer.slice(cut);
      for (const text of lines) line(text);
      if (done) return;
    }
  } finally {
    signal?.removeEventListener("abort", cancel);
    cancel(); // lets go of the connection when a listener threw
  }
}
