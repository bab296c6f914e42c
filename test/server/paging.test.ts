// `GET /v1/sessions` in pages: `?limit=` (default 100, at most 1,000) and `?next=<cursor>`,
// answering `{ sessions, next? }`; a page costs one page of the store's work.
import { describe, expect, it, vi } from "vitest";
import { memoryStore } from "../../src/stores/memory.ts";
import { pageOf } from "../../src/stores/shared/range.ts";
import type { ListRequest, SessionRecord, SessionStore } from "../../src/stores/types.ts";
import { type Client, setup } from "../helpers/server.ts";

const ids = (reply: { body: { sessions: { id: string }[] } }) =>
  reply.body.sessions.map((s) => s.id);

/** Every page from the first, following `next`; the ids of each. */
async function pages(client: Client, query = ""): Promise<string[][]> {
  const found: string[][] = [];
  let next: string | undefined;
  do {
    const cursor = next === undefined ? "" : `${query ? "&" : ""}next=${next}`;
    const reply = await client.get(`/v1/sessions?${query}${cursor}`);
    expect(reply.status).toBe(200);
    found.push(ids(reply));
    next = reply.body.next;
    if (next !== undefined) expect(next).toMatch(/^[\w-]+$/);
  } while (next !== undefined);
  return found;
}

async function fill(client: Client, count: number): Promise<string[]> {
  const made = Array.from({ length: count }, (_, i) => `s${String(i).padStart(4, "0")}`);
  for (const id of made) await client.put(`/v1/sessions/${id}`, { data: id });
  return made;
}

describe("GET /v1/sessions, paged", () => {
  it("answers 100 sessions a page by default, with next until the last page", async () => {
    const { alice } = setup();
    const made = await fill(alice, 250);
    const found = await pages(alice);
    expect(found.map((page) => page.length)).toEqual([100, 100, 50]);
    expect(found.flat()).toEqual(made);
    const last = await alice.get("/v1/sessions?limit=1000");
    expect(ids(last)).toEqual(made);
    expect(last.body).not.toHaveProperty("next");
  });

  it("takes a limit from 1 to 1,000", async () => {
    const { alice } = setup();
    const made = await fill(alice, 5);
    expect((await pages(alice, "limit=2")).map((page) => page.length)).toEqual([2, 2, 1]);
    expect((await pages(alice, "limit=1")).flat()).toEqual(made);
    expect(ids(await alice.get("/v1/sessions?limit=1000"))).toEqual(made);
  });

  it.each(["0", "1001", "-1", "1.5", "abc", "", "1e3", " 10"])(
    "refuses limit=%j with 400 saying what it must be",
    async (limit) => {
      const { alice } = setup();
      const reply = await alice.get(`/v1/sessions?limit=${encodeURIComponent(limit)}`);
      expect(reply.status).toBe(400);
      expect(reply.body.error).toEqual({
        code: "BAD_REQUEST",
        message: `limit must be a whole number from 1 to 1000, got ${JSON.stringify(limit)}`,
      });
    },
  );

  it.each([
    ["not base64url", "a+b/c"],
    ["one character too many", "abcde"],
    ["not UTF-8", "_w"],
    ["a NUL", "AA"],
    ["empty", ""],
    ["too long", "a".repeat(20_000)],
  ])("refuses a next that is %s with 400", async (_, next) => {
    const { alice } = setup();
    await fill(alice, 3);
    const reply = await alice.get(`/v1/sessions?next=${encodeURIComponent(next)}`);
    expect(reply.status).toBe(400);
    expect(reply.body.error).toEqual({
      code: "BAD_REQUEST",
      message: "next must be the next cursor of a GET /v1/sessions answer",
    });
  });

  it("never hands one owner another's sessions, whatever next they send", async () => {
    const { alice, bob } = setup();
    await fill(alice, 3);
    await bob.put("/v1/sessions/b1");
    const next = (await alice.get("/v1/sessions?limit=1")).body.next;
    // Bob's own sessions, never alice's (a cursor is a position: bob's ids all sort after it).
    expect(ids(await bob.get(`/v1/sessions?next=${next}`))).toEqual(["b1"]);
    // A cursor made up from the start of alice's partition, as bob.
    const forged = Buffer.from("alice/").toString("base64url");
    expect(ids(await bob.get(`/v1/sessions?next=${forged}`))).toEqual(["b1"]);
    expect(ids(await alice.get(`/v1/sessions?next=${forged}`))).toEqual([
      "s0000",
      "s0001",
      "s0002",
    ]);
  });

  it("leaves expired sessions out (a page may then hold fewer than its limit)", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      const { alice } = setup();
      await alice.put("/v1/sessions/a", { ttl: 1000 });
      await alice.put("/v1/sessions/b", { ttl: "1h" });
      await alice.put("/v1/sessions/c", { ttl: 1000 });
      vi.setSystemTime(Date.now() + 2000);
      expect(await pages(alice, "limit=2")).toEqual([["b"], []]);
    } finally {
      vi.useRealTimers();
    }
  });

  it("reads one page of the store per request", async () => {
    const inner = memoryStore();
    const requests: ListRequest[] = [];
    const records = () => (inner.listPrefix?.("") ?? []) as SessionRecord[];
    const store: SessionStore = {
      ...inner,
      listPage: (request) => {
        requests.push(request);
        return pageOf(records(), request);
      },
    };
    const { alice } = setup({}, store);
    await fill(alice, 30);
    requests.length = 0;
    const reply = await alice.get("/v1/sessions?limit=10");
    expect(ids(reply)).toHaveLength(10);
    expect(requests).toEqual([{ prefix: "alice/", limit: 10 }]);
    await alice.get(`/v1/sessions?limit=10&next=${reply.body.next}`);
    expect(requests[1]).toEqual({ prefix: "alice/", limit: 10, cursor: "alice/s0009" });
  });
});
