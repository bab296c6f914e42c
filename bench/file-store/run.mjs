// The file store against SQLite, side by side in one run: `npm run build && node
// bench/file-store/run.mjs` (issue 11, finding 3). For each of file (json), file (csv) and sqlite:
//   - clear N sessions of a namespace (`store.clear()`, what `sm.clear()` calls);
//   - clear N sessions of one owner through the server (`DELETE /v1/sessions`, the owner's
//     partition), with a few sessions of other owners beside them;
//   - page through the N sessions of one owner by 100 (`listPage` with the owner's prefix, as
//     the server lists them);
//   - 1k adds through a manager, one at a time (each awaited) and all at once.
// SESSIONMANAGER_DIST points at another build (bench/lib/dist.mjs): run it once on a build of
// the commit before a change and once after, to compare.
//
//   node bench/file-store/run.mjs [--sessions 10000] [--adds 1000] [--only json,csv,sqlite,full]
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import Database from "better-sqlite3";
import { fromDist } from "../lib/dist.mjs";
import { table } from "../lib/table.mjs";
import { fmtInt, now } from "../lib/util.mjs";
import { mintToken } from "../server/load.mjs";

const { values: flags } = parseArgs({
  options: {
    sessions: { type: "string", default: "10000" },
    adds: { type: "string", default: "1000" },
    only: { type: "string", default: "json,csv,sqlite,full" },
  },
});
const SESSIONS = Number(flags.sessions);
const ADDS = Number(flags.adds);
const SECRET = "bench-secret-that-is-long-enough-for-hs256";
const OWNER = "bench-user";

const { SessionManager } = await fromDist("index.js");
const { fileStore } = await fromDist("stores/file.js");
const { sqliteStore } = await fromDist("stores/sqlite.js");
const { serve } = await fromDist("server.js");

const tmp = mkdtempSync(join(os.tmpdir(), "sessionmanager-file-bench-"));
let files = 0;

/** The backends: a fresh store on a fresh file each time `make` is called. */
const BACKENDS = [
  { name: "file (json)", key: "json", make: (p) => fileStore({ path: p(".json") }) },
  {
    name: "file (csv)",
    key: "csv",
    make: (p) => fileStore({ path: p(".csv"), format: "csv" }),
  },
  { name: "sqlite", key: "sqlite", make: (p) => sqliteStore({ path: p(".db") }) },
  // The file store's durability: every commit synced to disk, as the file store syncs every write.
  {
    name: "sqlite (sync=FULL)",
    key: "full",
    make: (p) => sqliteStore({ database: synced(p(".db")) }),
  },
].filter((b) => flags.only.split(",").includes(b.key));

const databases = [];
/** A database as the SQLite store opens one, but with every commit synced to disk. */
function synced(file) {
  const db = new Database(file, { timeout: 5000 });
  databases.push(db);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = FULL");
  return db;
}

/** The columns comparing two backends: the first's time over the second's. */
const RATIOS = [
  ["json", "sqlite"],
  ["csv", "sqlite"],
  ["json", "full"],
].filter(([a, b]) => [a, b].every((key) => BACKENDS.some((backend) => backend.key === key)));

const path = (ext) => join(tmp, `s${++files}${ext}`);

function record(id, i) {
  const at = Date.now();
  const ttl = 3_600_000;
  return { id, data: { n: i }, createdAt: at, updatedAt: at, expiresAt: at + ttl, ttl, version: 1 };
}

/** `count` records written at once (they share writes where the store can), ids `prefix + i`. */
async function fill(store, count, prefix = "") {
  const writes = [];
  for (let i = 0; i < count; i++) writes.push(store.set(record(`${prefix}s${i}`, i)));
  await Promise.all(writes);
}

async function opened(store) {
  await store.open?.({ report: (error) => console.error(error) });
  return store;
}

/** Milliseconds `store.clear()` takes on `SESSIONS` sessions. */
async function rootClear(backend) {
  const store = await opened(backend.make(path));
  await fill(store, SESSIONS);
  const start = now();
  await store.clear();
  const ms = now() - start;
  if ((await store.list()).length !== 0) throw new Error(`${backend.name}: clear left sessions`);
  await store.close?.();
  return ms;
}

/** Milliseconds `DELETE /v1/sessions` takes for an owner of `SESSIONS` sessions. */
async function ownerClear(backend) {
  const file = path(backend.key === "sqlite" ? ".db" : `.${backend.key}`);
  const make = () => backend.make(() => file);
  // Seeded straight into the store, under the ids the server keeps an owner's sessions at.
  const seeding = await opened(make());
  await fill(seeding, SESSIONS, `${encodeURIComponent(OWNER)}/`);
  await fill(seeding, 10, "other/");
  await seeding.close?.();
  const server = await serve({
    backend: make(),
    auth: { secret: SECRET },
    port: 0,
    sweepInterval: 0,
    maxSessionsPerOwner: SESSIONS * 2,
  });
  try {
    const token = await mintToken(SECRET, OWNER);
    const start = now();
    const response = await fetch(`${server.url}/v1/sessions`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${token}` },
    });
    const body = await response.json();
    const ms = now() - start;
    if (response.status !== 200 || body.removed !== SESSIONS) {
      throw new Error(
        `${backend.name}: DELETE answered ${response.status} ${JSON.stringify(body)}`,
      );
    }
    return ms;
  } finally {
    await server.close();
  }
}

/** Milliseconds paging through `SESSIONS` sessions of one owner by 100 takes (`listPage`). */
async function paging(backend) {
  const store = await opened(backend.make(path));
  const prefix = `${encodeURIComponent(OWNER)}/`;
  await fill(store, SESSIONS, prefix);
  await fill(store, 10, "other/");
  let seen = 0;
  const start = now();
  for (let cursor, done = false; !done; ) {
    const page = await store.listPage({ prefix, cursor, limit: 100 });
    seen += page.records.length;
    cursor = page.next;
    done = cursor === undefined;
  }
  const ms = now() - start;
  if (seen !== SESSIONS) throw new Error(`${backend.name}: paged through ${seen} sessions`);
  await store.close?.();
  return ms;
}

/** Milliseconds `ADDS` adds take through a manager: awaited one by one, or all at once. */
async function adds(backend, together) {
  const sm = new SessionManager({ backend: backend.make(path) });
  await sm.ready;
  const start = now();
  if (together) await Promise.all(Array.from({ length: ADDS }, (_, i) => sm.add(`u${i}`)));
  else for (let i = 0; i < ADDS; i++) await sm.add(`u${i}`);
  const ms = now() - start;
  await sm.close();
  return ms;
}

const CASES = [
  { name: `clear ${fmtInt(SESSIONS)} (store.clear)`, run: rootClear },
  { name: `clear an owner's ${fmtInt(SESSIONS)} (DELETE /v1/sessions)`, run: ownerClear },
  { name: `page through an owner's ${fmtInt(SESSIONS)} by 100 (listPage)`, run: paging },
  { name: `${fmtInt(ADDS)} adds, one at a time`, run: (b) => adds(b, false) },
  { name: `${fmtInt(ADDS)} adds, all at once`, run: (b) => adds(b, true) },
];

const rows = [];
try {
  for (const { name, run } of CASES) {
    const times = [];
    for (const backend of BACKENDS) {
      times.push(await run(backend));
      process.stderr.write(".");
    }
    const time = (key) => times[BACKENDS.findIndex((b) => b.key === key)];
    rows.push([
      name,
      ...times.map((ms) => (ms < 10 ? `${ms.toFixed(1)} ms` : `${fmtInt(ms)} ms`)),
      ...RATIOS.map(([a, b]) => time(a) / time(b)).map((r) => `${r.toFixed(r < 1 ? 2 : 1)}x`),
    ]);
  }
} finally {
  for (const db of databases) db.close();
  rmSync(tmp, { recursive: true, force: true });
}
process.stderr.write("\n");
console.log(
  table(
    `file store against SQLite (${process.env.SESSIONMANAGER_DIST ?? "dist/"})`,
    ["case", ...BACKENDS.map((b) => b.name), ...RATIOS.map(([a, b]) => `${a} / ${b}`)],
    rows,
    [
      "the file store writes the whole file on every change (batched: changes made together share a write), and syncs it to disk (fdatasync) before renaming it over the old one",
      "sqlite: the store's own database, WAL with synchronous=NORMAL: a commit is not synced to disk (it survives a process crash, not a power cut); sqlite (sync=FULL) syncs every commit, as the file store does",
    ],
  ),
);
