// The model-based fuzz of the HTTP API (test/helpers/fuzz.ts) on the backends a server needs no
// service for: memory, a JSON file and SQLite, each run on a store of its own (a new namespace,
// file or database). fuzz.services.test.ts runs the same on PostgreSQL, Redis and Memcached.
import { join } from "node:path";
import { describe, it } from "vitest";
import type { SessionServerOptions } from "../../src/server/index.ts";
import { fuzzServer, fuzzTarget } from "../helpers/fuzz.ts";
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

describe.each(backends)("the HTTP API against its model on %s", (_name, runs, backend) => {
  it(
    "answers every sequence of requests by several owners as the model does: no 5xx, no leak",
    () => fuzzServer({ open: async (quota) => fuzzTarget(backend(runId()), quota), runs }),
    TIMEOUT_MS,
  );
});
