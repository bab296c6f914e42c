// The per-owner quota (`maxSessionsPerOwner`): a create beyond it is 403 QUOTA_EXCEEDED; what
// the owner already has can always be replaced, touched and removed.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { main, USAGE } from "../../src/server/cli.ts";
import { createSessionServer } from "../../src/server/index.ts";
import { memoryStore } from "../../src/stores/memory.ts";
import type { PrefixCountRequest, SessionRecord, SessionStore } from "../../src/stores/types.ts";
import { deferred, meeting } from "../helpers/gate.ts";
import { SECRET, setup, token } from "../helpers/server.ts";

const T0 = Date.UTC(2026, 0, 1);
const MINUTE = 60_000;

describe("maxSessionsPerOwner", () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(T0);
  });
  afterEach(() => vi.useRealTimers());

  it("is 1,000 by default: the 1,001st create is 403 QUOTA_EXCEEDED, saying the limit, and writes nothing", async () => {
    const { alice } = setup();
    for (let i = 0; i < 1000; i++) {
      expect((await alice.put(`/v1/sessions/s${i}`)).status).toBe(201);
    }
    const refused = await alice.put("/v1/sessions/one-more", { data: 1 });
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe("QUOTA_EXCEEDED");
    expect(refused.body.error.message).toMatch(/1000/);
    expect((await alice.get("/v1/sessions/one-more")).status).toBe(404);
  });

  it("never refuses a replace, a touch or a remove, and frees a place when a session ends", async () => {
    const { alice } = setup({ maxSessionsPerOwner: 2 });
    await alice.put("/v1/sessions/a", { data: 1 });
    await alice.put("/v1/sessions/b", { data: 1, ttl: MINUTE });
    expect((await alice.put("/v1/sessions/c")).status).toBe(403);
    // Under If-None-Match the live one's SESSION_EXISTS comes first, as without a quota.
    const exists = await alice.put("/v1/sessions/a", {}, { headers: { "if-none-match": "*" } });
    expect(exists.status).toBe(409);
    expect((await alice.put("/v1/sessions/a", { data: 2 })).status).toBe(200);
    const matched = await alice.put(
      "/v1/sessions/a",
      { data: 3 },
      { headers: { "if-match": '"2"' } },
    );
    expect(matched.status).toBe(200);
    expect((await alice.post("/v1/sessions/a/touch", { ttl: "1h" })).status).toBe(200);

    expect((await alice.delete("/v1/sessions/a")).status).toBe(200);
    expect((await alice.put("/v1/sessions/c")).status).toBe(201);
    // An expired session (not swept yet) holds no place either.
    vi.setSystemTime(T0 + 2 * MINUTE);
    expect((await alice.put("/v1/sessions/d")).status).toBe(201);
    expect((await alice.put("/v1/sessions/e")).status).toBe(403);
  });

  it("asks a store that counts for the owner's live sessions up to the limit, reading no record to count", async () => {
    const inner = memoryStore();
    const asked: PrefixCountRequest[] = [];
    let listed = 0;
    const store: SessionStore = {
      ...inner,
      count: (request) => {
        asked.push(request);
        return inner.count?.(request) ?? 0;
      },
      listPrefix: (prefix) => {
        listed++;
        return inner.listPrefix?.(prefix) ?? [];
      },
    };
    const { alice, bob } = setup({ maxSessionsPerOwner: 3 }, store);
    for (const id of ["a", "b", "c"]) await alice.put(`/v1/sessions/${id}`);
    expect((await alice.put("/v1/sessions/d")).status).toBe(403);
    expect((await bob.put("/v1/sessions/a")).status).toBe(201);
    expect(listed).toBe(0);
    expect(asked).toHaveLength(5);
    expect(asked.at(-2)).toEqual({ now: T0, upTo: 3, prefix: "alice/" });
    expect(asked.at(-1)).toEqual({ now: T0, upTo: 3, prefix: "bob/" });
  });

  it("counts each owner apart, reading only the owner's own records, in a store that cannot count", async () => {
    const { count: _, ...inner } = memoryStore();
    let read = 0;
    // The memory store lists a partition by prefix: count the records those lists hand out.
    const store: SessionStore = {
      ...inner,
      listPrefix: async (prefix: string) => {
        const found = (await inner.listPrefix?.(prefix)) as SessionRecord[];
        read += found.length;
        return found;
      },
    };
    const { alice, bob } = setup({ maxSessionsPerOwner: 3 }, store);
    for (const id of ["a", "b", "c"]) await alice.put(`/v1/sessions/${id}`);
    expect((await alice.put("/v1/sessions/d")).status).toBe(403);
    for (let i = 0; i < 40; i++) await store.set(record(`alice/x${i}`));
    read = 0;
    expect((await bob.put("/v1/sessions/a")).status).toBe(201);
    expect(read).toBe(0); // bob has none: alice's 43 records are not read
    expect((await bob.put("/v1/sessions/b")).status).toBe(201);
    expect(read).toBe(1);
  });

  it("lets creates racing at the limit overshoot it (documented), then refuses the next", async () => {
    const { alice } = setup({ maxSessionsPerOwner: 5 });
    for (const id of ["a", "b", "c", "d"]) await alice.put(`/v1/sessions/${id}`);
    const raced = await Promise.all(
      Array.from({ length: 8 }, (_, i) => alice.put(`/v1/sessions/race${i}`)),
    );
    const statuses = raced.map((reply) => reply.status);
    expect(statuses.every((status) => status === 201 || status === 403)).toBe(true);
    const created = statuses.filter((status) => status === 201).length;
    expect(created).toBeGreaterThanOrEqual(1);
    expect((await alice.get("/v1/sessions")).body.sessions).toHaveLength(4 + created);
    expect((await alice.put("/v1/sessions/after")).status).toBe(403);
  });

  it.each([
    ["a create-only PUT that lost the race is 409, not 403", { "if-none-match": "*" }, [201, 409]],
    ["a plain PUT that lost the race replaces the winner's session", {}, [200, 201]],
  ])(
    "when the winner of two creates of one id filled the quota, %s",
    async (_, headers, statuses) => {
      const { store, race } = racingStore();
      const { alice } = setup({ maxSessionsPerOwner: 2 }, store);
      expect((await alice.put("/v1/sessions/other")).status).toBe(201);
      const replies = await race(() => alice.put("/v1/sessions/s1", { data: 1 }, { headers }));
      expect(replies.map((reply) => reply.status).sort()).toEqual(statuses);
      expect((await alice.get("/v1/sessions")).body.sessions).toHaveLength(2);
    },
  );

  it("refuses a limit that is not a positive whole number at once", () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) {
      expect(() =>
        createSessionServer({
          backend: memoryStore(),
          auth: { secret: SECRET },
          maxSessionsPerOwner: bad,
        }),
      ).toThrow(/maxSessionsPerOwner must be a positive integer/);
    }
  });
});

describe("sessionmanager serve --max-sessions-per-owner", () => {
  it("is in the help", () => {
    expect(USAGE).toMatch(/--max-sessions-per-owner <n>\s+most live sessions one owner may have/);
  });

  it("limits a served server, over HTTP", async () => {
    const out: string[] = [];
    const controller = new AbortController();
    const io = {
      stdout: { write: (text: string) => out.push(text) },
      stderr: { write: (text: string) => out.push(text) },
      env: { SESSIONMANAGER_SECRET: SECRET },
      signal: controller.signal,
    };
    const argv = ["serve", "--backend", "memory", "--port", "0", "--log-level", "silent"];
    const code = main([...argv, "--max-sessions-per-owner", "2"], io);
    const deadline = Date.now() + 5000;
    while (!/listening on (\S+)/.test(out.join("")) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const url = /listening on (\S+)/.exec(out.join(""))?.[1];
    try {
      const headers = { authorization: `Bearer ${await token("alice")}` };
      const put = (id: string) => fetch(`${url}/v1/sessions/${id}`, { method: "PUT", headers });
      expect((await put("a")).status).toBe(201);
      expect((await put("b")).status).toBe(201);
      const refused = await put("c");
      expect(refused.status).toBe(403);
      expect((await refused.json()).error.code).toBe("QUOTA_EXCEEDED");
    } finally {
      controller.abort();
      expect(await code).toBe(0);
    }
  });

  it("refuses a value that is not a whole number from 1 (exit 2)", async () => {
    for (const bad of ["0", "many", "1.5"]) {
      const err: string[] = [];
      const io = {
        stdout: { write: () => {} },
        stderr: { write: (text: string) => err.push(text) },
        env: { SESSIONMANAGER_SECRET: SECRET },
      };
      expect(await main(["serve", "--max-sessions-per-owner", bad], io)).toBe(2);
      expect(err.join("")).toMatch(/--max-sessions-per-owner must be a whole number from 1/);
    }
  });
});

/**
 * A memory store in which two racing requests both read their id as absent before either
 * writes, and the second one's count of the owner's sessions comes after the first one's write.
 */
function racingStore() {
  const inner = memoryStore();
  let racing = false;
  const firstReads = meeting(2);
  let counts = 0;
  const firstWrite = deferred();
  const store: SessionStore = {
    ...inner,
    get: async (id) => {
      const found = await inner.get(id);
      if (racing) await firstReads();
      return found;
    },
    count: async (request) => {
      if (racing && ++counts === 2) await firstWrite.promise;
      return (await inner.count?.(request)) ?? 0;
    },
    set: async (record, condition) => {
      const done = await inner.set(record, condition);
      if (racing) firstWrite.resolve();
      return done;
    },
  };
  const race = async <T>(request: () => Promise<T>): Promise<T[]> => {
    racing = true;
    try {
      return await Promise.all([request(), request()]);
    } finally {
      racing = false;
    }
  };
  return { store, race };
}

function record(id: string): SessionRecord {
  const expiresAt = Date.now() + 60 * MINUTE;
  return { id, data: null, createdAt: T0, updatedAt: T0, expiresAt, ttl: MINUTE, version: 1 };
}
