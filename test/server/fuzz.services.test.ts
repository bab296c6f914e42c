// The model-based fuzz of the HTTP API (test/helpers/fuzz.ts) on the backends that need a
// service: PostgreSQL, Redis and Memcached, each run in a namespace of its own (emptied at its
// end). A missing service skips its backend with a warning (REQUIRE_SERVICES=1: it fails).
import { describe, it } from "vitest";
import type { SessionServerOptions } from "../../src/server/index.ts";
import { fuzzServer, fuzzTarget } from "../helpers/fuzz.ts";
import { requireServices, services } from "../helpers/services.ts";

const up = await requireServices();
const TIMEOUT_MS = 120_000;

type Backend = Pick<SessionServerOptions, "backend" | "url">;
// Runs per backend: each takes some 5-10 s alone on 2 cores (a PostgreSQL write some 20 ms).
const backends: [string, number, boolean, Backend][] = [
  ["postgres", 30, up.postgres, { backend: "postgres", url: services.postgres.url }],
  [
    "redis",
    60,
    up.redis,
    { backend: "redis", url: `redis://${services.redis.host}:${services.redis.port}` },
  ],
  [
    "memcached",
    60,
    up.memcached,
    { backend: "memcached", url: `${services.memcached.host}:${services.memcached.port}` },
  ],
];

for (const [name, runs, up, backend] of backends) {
  describe.skipIf(!up)(`the HTTP API against its model on ${name}`, () => {
    const open = async (quota: number) => fuzzTarget(backend, quota);
    if (name !== "redis") {
      it(
        "answers every sequence of requests by several owners as the model does: no 5xx, no leak",
        () => fuzzServer({ open, runs }),
        TIMEOUT_MS,
      );
      return;
    }
    // Known bug (B1 in the fuzz notes): on Redis, a session whose data holds a lone surrogate
    // can never be written again (its scripts read the version with Lua cjson, which refuses the
    // `\ud800` escape): 409 CONFLICT on every replace, touch and DELETE. The whole property is
    // expected to fail there until that is fixed (then drop the `fails`); the run without lone
    // surrogates in data checks everything else meanwhile.
    it.fails(
      "answers every sequence as the model does (fails: B1, data with a lone surrogate)",
      () => fuzzServer({ open, runs }),
      TIMEOUT_MS,
    );
    it(
      "answers every sequence without lone surrogates in data as the model does",
      () => fuzzServer({ open, runs, loneSurrogates: false }),
      TIMEOUT_MS,
    );
  });
}
