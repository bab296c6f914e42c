// `remote.live` in a real Chromium page: two managers of one namespace on localStorage stand in
// for two tabs (Web Locks are per origin, BroadcastChannel reaches the other channels of the page).
// One event stream between them, held under the Web Lock; the other tab hears through the tabs;
// when the holder closes, the other takes the stream over. The server runs in the page.
import { SignJWT } from "jose";
import { afterEach, describe, expect, it } from "vitest";
import { type Session, SessionManager } from "../../src/index.ts";
import { createSessionServer } from "../../src/server/server.ts";
import { memoryStore } from "../../src/stores/memory.ts";
import { localStorageStore } from "../../src/stores/webstorage.ts";
import { remoteStore } from "../../src/sync/remote.ts";
import { replicaStore } from "../../src/sync/replica.ts";

const SECRET = "a-live-browser-test-secret-of-32-bytes!";
const URL_ = "http://sessions.test/api";
const run = crypto.randomUUID().slice(0, 8);

const closing: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closing.splice(0).reverse()) await close();
});

function token(sub: string): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ sub })
    .setProtectedHeader({ alg: "HS256" })
    .setIssuedAt(now)
    .setExpirationTime(now + 3600)
    .sign(new TextEncoder().encode(SECRET));
}

/** The server in this page, its `fetch`, and the `/v1/events` requests it answered. */
function pageServer() {
  const server = createSessionServer({
    backend: memoryStore(),
    auth: { secret: SECRET },
    basePath: "/api",
    sweepInterval: 0,
  });
  closing.push(() => server.close());
  const streams: number[] = [];
  const fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init);
    const response = await server.fetch(request);
    if (new URL(request.url).pathname.endsWith("/events")) streams.push(response.status);
    return response;
  }) as typeof globalThis.fetch;
  return { fetch, streams };
}

async function until(check: () => unknown, timeout = 5000): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`still false after ${timeout} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A "tab": a manager on localStorage of `namespace`, syncing with the page's server. */
function tab(fetch: typeof globalThis.fetch, namespace: string) {
  const local = localStorageStore({ namespace });
  const backend = replicaStore(local, {
    url: URL_,
    token: () => token("tabs"),
    fetch,
    namespace,
    pullInterval: "10m",
  });
  const sm = new SessionManager<unknown>({ backend, namespace, warnBefore: 0 });
  const heard: string[] = [];
  for (const event of ["added", "updated"] as const) {
    sm.on(event, (s: Session<unknown>) => heard.push(`${event} ${s.id}`));
  }
  closing.push(() => sm.close());
  return { sm, heard };
}

describe("remote.live across tabs", () => {
  it("opens one stream for the tabs of a namespace; the other takes it over when it closes", async () => {
    const { fetch, streams } = pageServer();
    const namespace = `${run}-live`;
    // Another device of the same owner, which writes.
    const writer = new SessionManager<unknown>({
      backend: remoteStore({ url: URL_, token: () => token("tabs"), fetch, live: false }),
    });
    closing.push(() => writer.close());
    const one = tab(fetch, namespace);
    const two = tab(fetch, namespace);
    await Promise.all([one.sm.ready, two.sm.ready]);
    await until(() => streams.length === 1);

    await writer.add("s", { data: 1 });
    await until(() => one.heard.includes("added s") && two.heard.includes("added s"));
    // Still one stream: the second tab waits for the lock.
    expect(streams).toEqual([200]);

    // The holder goes: the other tab opens the stream, and hears what follows.
    await one.sm.close();
    await until(() => streams.length === 2);
    await writer.update("s", 2);
    await until(() => two.heard.includes("updated s"));
    expect(streams).toEqual([200, 200]);
  });
});
