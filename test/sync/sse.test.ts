// The event-stream reader of `remote.live` (src/sync/sse.ts), as the HTML spec parses streams:
// fields split across chunks, CRLF split between two, comments, multi-line data, ids.
import { describe, expect, it } from "vitest";
import { readSse, type SseEvent } from "../../src/sync/sse.ts";

/** A body that delivers `chunks` one read at a time. */
function body(chunks: (string | Uint8Array)[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) {
        controller.enqueue(typeof chunk === "string" ? encoder.encode(chunk) : chunk);
      }
      controller.close();
    },
  });
}

async function read(
  chunks: (string | Uint8Array)[],
): Promise<{ events: SseEvent[]; chunks: number }> {
  const events: SseEvent[] = [];
  let count = 0;
  await readSse(
    body(chunks),
    (e) => events.push(e),
    () => count++,
  );
  return { events, chunks: count };
}

describe("readSse", () => {
  it("reads events, ids and data as the server writes them", async () => {
    const { events } = await read([
      'event: added\ndata: {"id":"s"}\nid: c1\n\n',
      ": heartbeat\n\n",
      "event: ready\ndata: {}\nid: c2\nretry: 2000\n\n",
    ]);
    expect(events).toEqual([
      { event: "added", data: '{"id":"s"}', id: "c1" },
      { event: "ready", data: "{}", id: "c2" },
    ]);
  });

  it("joins what chunks split anywhere, a CRLF between two included", async () => {
    const text = "event: removed\r\ndata: a\r\ndata: b\r\nid: 7x\r\n\r\nevent:touched\rdata:c\r\r";
    for (let cut = 1; cut < text.length; cut++) {
      const { events } = await read([text.slice(0, cut), text.slice(cut)]);
      expect(events, `cut at ${cut}`).toEqual([
        { event: "removed", data: "a\nb", id: "7x" },
        { event: "touched", data: "c", id: undefined },
      ]);
    }
  });

  it("decodes UTF-8 split between chunks, and drops a BOM", async () => {
    const bytes = new TextEncoder().encode("\uFEFFdata: é€\n\n");
    const { events } = await read([bytes.slice(0, 5), bytes.slice(5, 8), bytes.slice(8)]);
    expect(events).toEqual([{ event: "message", data: "é€", id: undefined }]);
  });

  it("calls onChunk for every chunk, comments included, and drops an unfinished event", async () => {
    const { events, chunks } = await read([": heartbeat\n\n", ": heartbeat\n\n", "data: cut\n"]);
    expect(chunks).toBe(3);
    expect(events).toEqual([]);
  });
});
