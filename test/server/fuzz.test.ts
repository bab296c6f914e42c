// The model-based fuzz of the HTTP API (test/helpers/fuzz.ts) on the backends a server needs no
// service for: memory, a JSON file and SQLite, each run on a store of its own (a new namespace,
// file or database). fuzz.services.test.ts runs the same on PostgreSQL, Redis and Memcached.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { SessionServerOptions } from "../../src/server/index.ts";
import { checkId } from "../../src/session.ts";
import { memoryStore } from "../../src/stores/memory.ts";
import type { SessionStore } from "../../src/stores/types.ts";
import { fuzzServer, fuzzTarget, listeningTarget } from "../helpers/fuzz.ts";
import { deferred, meeting } from "../helpers/gate.ts";
import { call, setup } from "../helpers/server.ts";
import { runId } from "../helpers/services.ts";
import { tempDir } from "../helpers/temp.ts";

const dir = await tempDir("sm-fuzz-");
const TIMEOUT_MS = 120_000;

type Backend = Pick<SessionServerOptions, "backend" | "path">;
// Runs per backend: each takes some 5-10 s alone on 2 cores (a file write is a whole-file write).
const backends: [string, number, (name: string) => Backend][] = [
  ["memory", 150, () => ({ backend: "memory" })],
  ["file", 60, (name) => ({ backend: "file", path: join(dir, `${name}.json`) })],
  ["sqlite", 80, (name) => ({ backend: "sqlite", path: join(dir, `${name}.db`) })],
];

// The same over a socket: a real HTTP server (the Node adapter) on a free port.
it(
  "answers as the model does over HTTP on a port (memory)",
  () =>
    fuzzServer({
      open: (settings) => listeningTarget({ backend: "memory" }, settings),
      runs: 40,
    }),
  TIMEOUT_MS,
);

describe.each(backends)("the HTTP API against its model on %s", (_name, runs, backend) => {
  it(
    "answers every sequence of requests by several owners as the model does: no 5xx, no leak",
    () =>
      fuzzServer({
        open: async (settings) => fuzzTarget(backend(runId()), settings),
        runs,
      }),
    TIMEOUT_MS,
  );
});

// B2 in the fuzz notes, found writing the fuzz's id pool: "." and ".." passed checkId, but no
// client can reach them over HTTP: a URL parser removes dot segments, "%2E" included (WHATWG
// URL), so `PUT /v1/sessions/.` arrived as `PUT /v1/sessions/` (404 NOT_FOUND) and the remote
// store's add(".") was a BackendError. checkId refuses them now, in every store and the server.
it("an id is refused by checkId or reachable over HTTP ('.' and '..': B2)", async () => {
  const { server, close } = fuzzTarget({ backend: "memory" }, { quota: 1000, sweepMs: 0 });
  try {
    for (const id of [".", ".."]) {
      try {
        checkId(id);
      } catch {
        continue;
      }
      const path = `/v1/sessions/${encodeURIComponent(id)}`;
      expect((await call(server, "alice", "PUT", path, { body: { data: 1 } })).status).toBe(201);
      const read = await call(server, "alice", "GET", path);
      expect(read.status).toBe(200);
      expect(read.body.session.id).toBe(id);
    }
  } finally {
    await close();
  }
});

// B3 in the fuzz notes (fixed), found by the fuzz on every backend: create-only PUTs racing over
// an expired record still stored (before a sweep) could all be answered 201, each overwriting the
// one before: every one read the expired record at version n and wrote a new record at version 1
// on condition of version n, so after the first landed at version 1 the next still met the
// condition when n was 1. An acknowledged create was lost. Here both requests read the expired
// record before either writes (a store whose reads wait for each other).
it("B3: of create-only PUTs racing over an expired record, one wins", async () => {
  const inner = memoryStore();
  // Without its own partitions, so that the server reads through `get` below.
  const { partition: _partition, ...plain } = inner;
  let racing = false;
  const firstReads = meeting(2);
  const store: SessionStore = {
    ...plain,
    get: async (id) => {
      const found = await inner.get(id);
      // Both reads are done before either request decides and writes (once: a loser reads
      // again, alone).
      if (racing) await firstReads();
      return found;
    },
  };
  const { alice } = setup({ sweepInterval: 0 }, store);
  expect((await alice.put("/v1/sessions/s1", { data: "old", ttl: 1 })).status).toBe(201);
  await new Promise((resolve) => setTimeout(resolve, 5));
  racing = true;
  const create = (data: string) =>
    alice.put("/v1/sessions/s1", { data }, { headers: { "if-none-match": "*" } });
  const replies = await Promise.all([create("a"), create("b")]);
  racing = false;
  const read = await alice.get("/v1/sessions/s1");
  // One create won, and its session is the one stored.
  expect(replies.map((reply) => reply.status).sort()).toEqual([201, 409]);
  const won = replies.find((reply) => reply.status === 201);
  expect(read.body.session).toEqual(won?.body.session);
});

// B4 in the fuzz notes (fixed), found by the fuzz on PostgreSQL, whose writes are slow enough:
// two create-only PUTs of one id race while the owner has one session left under the quota. The
// loser read the id as absent, then counted the owner's sessions after the winner's write, and
// answered 403 QUOTA_EXCEEDED: no order of the two requests gives that (after the winner, the id
// exists: 409 SESSION_EXISTS). Here the loser's count waits for the winner's write.
it("B4: a create-only PUT that lost the race for its id is 409, not 403", async () => {
  const inner = memoryStore();
  const { partition: _partition, ...plain } = inner;
  let racing = false;
  const firstReads = meeting(2);
  let counts = 0;
  const firstWrite = deferred();
  const store: SessionStore = {
    ...plain,
    get: async (id) => {
      const found = await inner.get(id);
      // The two requests' first reads are done before either decides (once: later reads pass).
      if (racing) await firstReads();
      return found;
    },
    // The second count of the owner's sessions (the loser's) comes after the winner's write:
    // through the store's count where it has one, else through its list.
    count: async (request) => {
      if (racing && ++counts === 2) await firstWrite.promise;
      return (await inner.count?.(request)) ?? 0;
    },
    listPrefix: async (prefix) => {
      if (racing && ++counts === 2) await firstWrite.promise;
      return inner.listPrefix?.(prefix) ?? [];
    },
    set: async (record, condition) => {
      const done = await inner.set(record, condition);
      if (racing) firstWrite.resolve();
      return done;
    },
  };
  const { alice } = setup({ sweepInterval: 0, maxSessionsPerOwner: 2 }, store);
  expect((await alice.put("/v1/sessions/other", { data: 0 })).status).toBe(201);
  racing = true;
  const create = (data: string) =>
    alice.put("/v1/sessions/s1", { data }, { headers: { "if-none-match": "*" } });
  const replies = await Promise.all([create("a"), create("b")]);
  racing = false;
  expect(replies.map((reply) => reply.status).sort()).toEqual([201, 409]);
  // The loser's count did come after the winner's write (the race this reproduces).
  expect(counts).toBe(2);
});
