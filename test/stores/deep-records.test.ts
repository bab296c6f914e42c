// Issue 11, finding 4: data nested deeper than MAX_DATA_DEPTH, planted in a store behind the
// library's back, is an unreadable record (skipped with a BackendError on `error`), never a
// stack overflow that fails every read.
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import Database from "better-sqlite3";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BackendError, SessionManager } from "../../src/index.ts";
import { formats } from "../../src/stores/file/format.ts";
import { fileStore } from "../../src/stores/file/index.ts";
import { RECORD_FORMAT } from "../../src/stores/record.ts";
import { sqliteStore } from "../../src/stores/sqlite.ts";
import type { SessionStore } from "../../src/stores/types.ts";
import { errorsOf } from "../helpers/events.ts";
import { rec } from "../helpers/records.ts";
import { client, setup } from "../helpers/server.ts";
import { tempDir } from "../helpers/temp.ts";

const root = await tempDir("sessionmanager-deep-");
let files = 0;
const file = (ext: string) => join(root, `case${++files}.${ext}`);

/** JSON text of `levels` arrays in one another, built without recursion. */
const nestedJson = (levels: number) => `${"[".repeat(levels)}1${"]".repeat(levels)}`;

/** A row the SDK wrote ("good"), and one beside it whose data is `levels` deep ("deep"). */
async function plantedSqlite(levels: number, prefix = ""): Promise<string> {
  const path = file("db");
  const store = sqliteStore({ path });
  await store.open?.({ report: () => {} });
  await store.set(rec(`${prefix}good`));
  await store.set(rec(`${prefix}deep`));
  await store.close?.();
  const db = new Database(path);
  db.prepare("UPDATE sessionmanager_sessions SET data = ? WHERE id = ?").run(
    nestedJson(levels),
    `${prefix}deep`,
  );
  db.close();
  return path;
}

async function expectSkipped(backend: SessionStore): Promise<void> {
  const sm = new SessionManager({ backend });
  const errors = errorsOf(sm);
  await sm.ready;
  expect(sm.status).toBe("ready");
  expect(await sm.get("deep")).toBeUndefined();
  expect((await sm.list()).map((s) => s.id)).toEqual(["good"]);
  expect(errors.length).toBeGreaterThan(0);
  for (const error of errors) {
    expect(error).toBeInstanceOf(BackendError);
    expect(error.message).toMatch(
      /^skipped the stored record .+: its data nests deeper than 64 levels$/,
    );
  }
  // The manager goes on working.
  await sm.add("new", { data: { ok: true } });
  expect((await sm.get("new"))?.data).toEqual({ ok: true });
  await sm.close();
}

describe("stored data deeper than the limit", () => {
  it.each([65, 5_000, 100_000])("sqlite: data %i levels deep is skipped", async (levels) => {
    await expectSkipped(sqliteStore({ path: await plantedSqlite(levels) }));
  });

  it.each([65, 2_000])("file (json): data %i levels deep is skipped", async (levels) => {
    const path = file("json");
    const entry = (id: string) => JSON.stringify({ v: RECORD_FORMAT, ...rec(id) });
    const deep = entry("deep").replace('{"n":1}', nestedJson(levels));
    await writeFile(path, `{"namespaces":{"sessionmanager":[${entry("good")},${deep}]}}`);
    await expectSkipped(fileStore({ path }));
  });

  // Deep enough that JSON.stringify overflows the stack: the entry, kept unread, is written back
  // as found, and every other session keeps working.
  it.each([10_000, 100_000])(
    "file (json): data %i levels deep is skipped and kept",
    async (levels) => {
      const path = file("json");
      const entry = (id: string) => JSON.stringify({ v: RECORD_FORMAT, ...rec(id) });
      const deep = entry("deep").replace('{"n":1}', nestedJson(levels));
      await writeFile(path, `{"namespaces":{"sessionmanager":[${entry("good")},${deep}]}}`);
      await expectSkipped(fileStore({ path }));
      const text = await readFile(path, "utf8");
      expect(text).toContain(deep);
      expect(JSON.parse(text).namespaces.sessionmanager.map((e: { id: string }) => e.id)).toEqual([
        "good",
        "new",
        "deep",
      ]);
    },
  );

  it("file (json): entries kept unread are written back as JSON.stringify writes them", () => {
    const namespace = fc.constantFrom("sessionmanager", "__proto__", "7", "a b", "é");
    const entry = fc.oneof(
      fc.jsonValue(),
      fc.record({ v: fc.constant(999), id: fc.string(), data: fc.jsonValue() }),
    );
    fc.assert(
      fc.property(fc.dictionary(namespace, fc.array(entry, { minLength: 1 })), (namespaces) => {
        const text = JSON.stringify({ namespaces });
        const parsed = JSON.parse(text);
        expect(formats.json.stringify(formats.json.parse(text, "f"))).toBe(JSON.stringify(parsed));
      }),
    );
  });

  it.each([65, 10_000, 100_000])(
    "file (csv): data %i levels deep is skipped and kept",
    async (levels) => {
      const path = file("csv");
      const header = "namespace,id,data,createdAt,updatedAt,expiresAt,ttl,version,encrypted,format";
      const row = (id: string, data: string) => {
        const { createdAt, updatedAt, expiresAt, ttl, version } = rec(id);
        const quoted = `"${data.replaceAll('"', '""')}"`;
        return `sessionmanager,${id},${quoted},${createdAt},${updatedAt},${expiresAt},${ttl},${version},,${RECORD_FORMAT}`;
      };
      const deep = row("deep", nestedJson(levels));
      await writeFile(path, `${header}\r\n${row("good", '{"n":1}')}\r\n${deep}\r\n`);
      await expectSkipped(fileStore({ path, format: "csv" }));
      const lines = (await readFile(path, "utf8")).split("\r\n");
      expect(lines.map((line) => line.split(",")[1])).toEqual([
        "id",
        "good",
        "new",
        "deep",
        undefined,
      ]);
      expect(lines).toContain(deep);
    },
  );

  it("the server answers a planted deep record as absent (404), never 500", async () => {
    const path = await plantedSqlite(100_000, "alice/");
    const { server } = setup({ backend: sqliteStore({ path }) });
    const alice = client(server, "alice");
    expect((await alice.get("/v1/sessions/deep")).status).toBe(404);
    const list = await alice.get("/v1/sessions");
    expect(list.status).toBe(200);
    expect(JSON.stringify(list.body)).not.toMatch(/deep/);
  });
});
