// Change-log cursors on the client (issue 13): `GET /v1/changes` answers checked field by field,
// a log read a page at a time (`more`), a snapshot on `resync`, ids removed since the cursor
// removed locally, and outboxes that still hold a clock cursor from before change logs.
import { afterEach, describe, expect, it } from "vitest";
import { BackendError } from "../../src/errors.ts";
import { type Session, SessionManager } from "../../src/index.ts";
import { memoryStore } from "../../src/stores/memory.ts";
import type { SessionStore } from "../../src/stores/types.ts";
import { RemoteClient } from "../../src/sync/client.ts";
import { Outbox } from "../../src/sync/outbox.ts";
import { replicaStore } from "../../src/sync/replica.ts";
import { IN_PROCESS_URL, inProcessServer, tokenFor } from "../helpers/sync-server.ts";

const closing: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closing.splice(0).reverse()) await close();
});

const HOUR = 3_600_000;

function wire(id: string, version = 1) {
  const now = Date.now();
  return {
    id,
    data: id,
    createdAt: now,
    updatedAt: now,
    expiresAt: now + HOUR,
    ttl: HOUR,
    version,
  };
}

/** A client over a fake server answering `GET /v1/changes` by `since`, and listing `sessions`. */
function scripted(changes: Record<string, unknown>, sessions: unknown[] = []) {
  const asked: string[] = [];
  const fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = new URL(new Request(input, init).url);
    const since = url.searchParams.get("since") ?? "";
    if (url.pathname.endsWith("/sessions")) return Response.json({ sessions });
    asked.push(since);
    const answer = changes[since];
    return answer
      ? Response.json(answer)
      : Response.json({ error: { code: "X", message: since } }, { status: 400 });
  }) as typeof globalThis.fetch;
  return { client: new RemoteClient({ url: IN_PROCESS_URL, token: "t", fetch }), asked };
}

describe("RemoteClient.since with change-log cursors", () => {
  it("reads every page of a log answer; a later page is the truth about an id", async () => {
    const { client, asked } = scripted({
      "c.1": { cursor: "c.2", changed: [wire("a"), wire("b")], removed: ["x"], more: true },
      "c.2": { cursor: "c.3", changed: [wire("x", 2)], removed: ["a"] },
    });
    const answer = await client.since("c.1");
    expect(asked).toEqual(["c.1", "c.2"]);
    expect(answer.cursor).toBe("c.3");
    expect(answer.changed.map((s) => s.record.id).sort()).toEqual(["b", "x"]);
    expect(answer.removed).toEqual(["a"]);
    expect(answer.live).toBeUndefined();
  });

  it("lists everything again on resync, from the log's head", async () => {
    const { client, asked } = scripted(
      {
        "c.old": { cursor: "c.9", changed: [], removed: [], resync: true },
        // The snapshot's cursor: a clock answer that names the log's head.
        "100000000000000": { cursor: 5, changed: [], live: [], log: "c.10" },
      },
      [wire("kept")],
    );
    const answer = await client.since("c.old");
    expect(asked).toEqual(["c.old", "100000000000000"]);
    expect(answer).toMatchObject({ cursor: "c.10", live: ["kept"] });
  });

  it("takes the log's head from a clock answer as the cursor to go on from", async () => {
    const { client } = scripted({ "42": { cursor: 40, changed: [], live: ["a"], log: "c.7" } });
    expect(await client.since(42)).toMatchObject({ cursor: "c.7", live: ["a"] });
    const legacy = scripted({ "42": { cursor: 40, changed: [], live: [] } });
    expect((await legacy.client.since(42)).cursor).toBe(40);
  });

  it.each([
    ["a log cursor with live ids", { cursor: "c.2", changed: [], live: [] }],
    ["removed ids that are not strings", { cursor: "c.2", changed: [], removed: [1] }],
    ["more that is not true", { cursor: "c.2", changed: [], removed: [], more: 1 }],
    ["resync that is not true", { cursor: "c.2", changed: [], removed: [], resync: "yes" }],
    ["a log cursor of digits alone", { cursor: "123", changed: [], removed: [] }],
    ["a clock cursor without live", { cursor: 5, changed: [] }],
    ["a log head that is not a cursor", { cursor: 5, changed: [], live: [], log: 7 }],
    ["no changed list", { cursor: "c.2", removed: [] }],
  ])("refuses %s with BackendError", async (_, answer) => {
    const { client } = scripted({ "c.1": answer });
    await expect(client.since("c.1")).rejects.toBeInstanceOf(BackendError);
  });
});

describe("a replica on a server with a change log", () => {
  function replica(local: SessionStore, fetch: typeof globalThis.fetch, token: string) {
    const store = replicaStore(local, { url: IN_PROCESS_URL, token, fetch, live: false });
    const sm = new SessionManager<unknown>({ backend: store, warnBefore: 0 });
    const heard: string[] = [];
    sm.on("removed", (s: Session<unknown>) => heard.push(`removed ${s.id}`));
    sm.on("added", (s: Session<unknown>) => heard.push(`added ${s.id}`));
    closing.push(() => sm.close());
    return { sm, store, heard };
  }

  it("goes on from a clock cursor an older outbox kept, then from the log", async () => {
    const { server, fetch } = inProcessServer();
    closing.push(() => server.close());
    const sinces: string[] = [];
    const watching = ((input: RequestInfo | URL, init?: RequestInit) => {
      const request = new Request(input, init);
      const since = new URL(request.url).searchParams.get("since");
      if (since !== null) sinces.push(since);
      return fetch(request);
    }) as typeof globalThis.fetch;
    const token = await tokenFor("olive");
    const writer = replica(memoryStore(), fetch, token);
    await writer.sm.add("kept", { data: 1 });
    await writer.sm.add("gone", { data: 1 });
    expect(await writer.store.sync()).toBe(true);

    // A local store whose outbox an SDK before change logs wrote: a clock cursor, and copies.
    const local = memoryStore();
    const clock = Date.now() - 60_000;
    await new Outbox(local).setCursor(clock);
    const reader = replica(local, watching, token);
    await reader.sm.ready;
    expect(await reader.store.sync()).toBe(true);
    expect(sinces[0]).toBe(String(clock));
    const { cursor } = await new Outbox(local).read();
    expect(typeof cursor).toBe("string");

    // From the log now: the removal is one of the ids removed since.
    await writer.sm.remove("gone");
    expect(await writer.store.sync()).toBe(true);
    expect(await reader.store.sync()).toBe(true);
    expect(sinces.at(-1)).toBe(cursor);
    expect(reader.heard).toContain("removed gone");
    expect((await reader.sm.list()).map((s) => s.id)).toEqual(["kept"]);
  });
});
