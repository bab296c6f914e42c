import { mkdir, readdir, readFile, stat, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BackendError, SessionManager } from "../../src/index.ts";
import { type FileStoreOptions, fileStore } from "../../src/stores/file.ts";
import { RECORD_FORMAT } from "../../src/stores/record.ts";
import type { SessionStore } from "../../src/stores/types.ts";
import { errorsOf } from "../helpers/events.ts";
import { rec } from "../helpers/records.ts";
import { tempDir } from "../helpers/temp.ts";
import { testStore } from "./conformance.ts";

const root = await tempDir("sessionmanager-file-");

let folders = 0;
/** A fresh folder under the test root (not created: the store creates it). */
const folder = () => join(root, `case${++folders}`);

// One file per suite, shared by every namespace the suite opens; each store's twin reaches the
// same file by another path, through a link to its folder.
for (const format of ["json", "csv"] as const) {
  const dir = folder();
  await mkdir(dir, { recursive: true });
  await symlink(dir, `${dir}-link`);
  testStore({
    name: `file (${format})`,
    create: (namespace) => fileStore({ path: join(dir, `sessions.${format}`), format, namespace }),
    twin: (namespace) =>
      fileStore({ path: join(`${dir}-link`, `sessions.${format}`), format, namespace }),
  });
}

/** An opened store and what it reported. */
async function opened(
  options: FileStoreOptions,
): Promise<{ store: SessionStore; reports: Error[] }> {
  const reports: Error[] = [];
  const store = fileStore(options);
  await store.open?.({ report: (error) => reports.push(error) });
  return { store, reports };
}

describe.each(["json", "csv"] as const)("file store (%s)", (format) => {
  it("creates the directory, and the file readable by its owner only", async () => {
    const path = join(folder(), "deeper", `sessions.${format}`);
    const { store } = await opened({ path, format });
    await store.set(rec("a"));
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });

  it("writes by renaming a whole new file over the old one, leaving no temp file", async () => {
    const dir = folder();
    const path = join(dir, `sessions.${format}`);
    const { store } = await opened({ path, format });
    await store.set(rec("first"));
    const before = (await stat(path)).ino;
    await store.set(rec("second"));
    // A new file took the name (the old one's inode may be reused later, so check at once).
    expect((await stat(path)).ino).not.toBe(before);
    let writing = true;
    const writes = Promise.all(
      Array.from({ length: 200 }, (_, i) => store.set(rec(`s${i}`, { data: "x".repeat(2000) }))),
    ).finally(() => {
      writing = false;
    });
    // A reader during the writes sees one whole version or the next, never a truncated file.
    let reads = 0;
    while (writing) {
      const text = await readFile(path, "utf8");
      expect(text.length).toBeGreaterThan(0);
      if (format === "json") expect(() => JSON.parse(text)).not.toThrow();
      else expect(text.endsWith("\r\n")).toBe(true);
      reads++;
    }
    await writes;
    expect(reads).toBeGreaterThan(0);
    expect(await readdir(dir)).toEqual([`sessions.${format}`]);
    expect(await store.list()).toHaveLength(202);
  });

  it("keeps sessions across a restart (a new manager on the same file)", async () => {
    const path = join(folder(), `sessions.${format}`);
    const first = new SessionManager({ backend: fileStore({ path, format, namespace: "app" }) });
    const added = await first.add("user123", { data: { name: "Ada", tags: ["a,b", 'q"'] } });
    await first.close();
    const second = new SessionManager({ backend: fileStore({ path, format, namespace: "app" }) });
    await second.ready;
    expect(second.status).toBe("ready");
    expect(await second.get("user123")).toEqual(added);
    expect(await second.list()).toEqual([added]);
    await second.close();
  });

  it("refuses a file it cannot parse, and leaves it as it is", async () => {
    const path = join(folder(), `sessions.${format}`);
    const text = format === "json" ? '{"namespaces":{"app":[' : 'namespace,id\r\n"unclosed,1\r\n';
    await mkdir(join(path, ".."), { recursive: true });
    await writeFile(path, text);
    const store = fileStore({ path, format, namespace: "app" });
    await expect(store.open?.({ report: () => {} })).rejects.toThrow(BackendError);
    const sm = new SessionManager({ backend: fileStore({ path, format, namespace: "app" }) });
    const errors = errorsOf(sm);
    await sm.ready;
    await expect(sm.add("a")).rejects.toMatchObject({ code: "BACKEND_UNAVAILABLE" });
    await expect(sm.clear()).rejects.toBeInstanceOf(BackendError);
    expect(errors[0]?.message).toMatch(/^cannot read the session file .+: it is not (JSON|CSV)/);
    expect(await readFile(path, "utf8")).toBe(text);
    await sm.close();
  });
});

describe("file store (json)", () => {
  it("skips entries it cannot read with a report, and keeps them through every rewrite", async () => {
    const path = join(folder(), "sessions.json");
    const future = { v: RECORD_FORMAT + 1, id: "future", payload: "from a newer version" };
    const unreadable = [future, "garbage", { v: RECORD_FORMAT, id: "half" }];
    const good = { v: RECORD_FORMAT, ...rec("good") };
    await mkdir(join(path, ".."), { recursive: true });
    await writeFile(path, JSON.stringify({ namespaces: { app: [good, ...unreadable] } }));
    const { store, reports } = await opened({ path, namespace: "app" });
    expect(reports.map((e) => e.message)).toEqual([
      `skipped the stored record ${path} app:futu…: its format is ${RECORD_FORMAT + 1}, this version reads ${RECORD_FORMAT}`,
      `skipped the stored record ${path} app:?: it is not a record`,
      `skipped the stored record ${path} app:half: a field is missing or of the wrong type`,
    ]);
    expect((await store.list()).map((r) => r.id)).toEqual(["good"]);
    expect(await store.get("future")).toBeUndefined();
    expect(await store.set(rec("future"), { ifAbsent: true })).toBe(false);
    await expect(store.set(rec("future"))).rejects.toThrow(
      /cannot overwrite .+ this version cannot read it/,
    );
    expect(await store.delete("future")).toBe(false);
    await store.set(rec("new"));
    await store.purgeExpired(Number.MAX_SAFE_INTEGER);
    await store.clear();
    expect(reports).toHaveLength(3); // once each, not on every read
    const written = JSON.parse(await readFile(path, "utf8"));
    expect(written).toEqual({ namespaces: { app: unreadable } });
  });

  it("keeps ids and namespaces named like Object.prototype keys", async () => {
    const path = join(folder(), "sessions.json");
    const { store } = await opened({ path, namespace: "__proto__" });
    await store.set(rec("__proto__", { data: "p" }));
    await store.set(rec("constructor", { data: "c" }));
    const { store: again } = await opened({ path, namespace: "__proto__" });
    expect((await again.get("__proto__"))?.data).toBe("p");
    expect((await again.list()).map((r) => r.id).sort()).toEqual(["__proto__", "constructor"]);
  });

  it("refuses a format it does not know", () => {
    const format = "xml" as "json";
    expect(() => fileStore({ path: "x", format })).toThrow(
      'file format must be "json" or "csv", got "xml"',
    );
  });
});

describe("file store (csv)", () => {
  const header = "namespace,id,data,createdAt,updatedAt,expiresAt,ttl,version,encrypted,format";

  it("quotes fields as RFC 4180 does and reads them back", async () => {
    const path = join(folder(), "sessions.csv");
    const { store } = await opened({ path, format: "csv", namespace: "a,b" });
    const simple = rec("x,y", {
      data: { a: "b,c" },
      createdAt: 1,
      updatedAt: 2,
      expiresAt: 3,
      ttl: 4,
    });
    const awkward = rec('q"uote\r\nline\rcr\nlf', {
      data: { text: 'say "hi", then\r\nleave\n', empty: "", unicode: "émoji 🎉", list: [",", '"'] },
      encrypted: true,
    });
    await store.set(simple);
    await store.set(awkward);
    const lines = (await readFile(path, "utf8")).split("\r\n");
    expect(lines[0]).toBe(header);
    expect(lines[1]).toBe(`"a,b","x,y","{""a"":""b,c""}",1,2,3,4,1,,${RECORD_FORMAT}`);
    const { store: again } = await opened({ path, format: "csv", namespace: "a,b" });
    expect(await again.get("x,y")).toEqual(simple);
    expect(await again.get(awkward.id)).toEqual(awkward);
  });

  it("skips rows it cannot read with a report, and keeps them byte for byte", async () => {
    const path = join(folder(), "sessions.csv");
    const rows = [
      `app,future,"{}",1,2,3,4,5,,${RECORD_FORMAT + 1}`,
      "app,short,1,2",
      `app,notjson,{oops,1,2,3,4,5,,${RECORD_FORMAT}`,
      `app,"quoted, kept","{}",1,2,3,4,5,,${RECORD_FORMAT + 1}`,
    ];
    await mkdir(join(path, ".."), { recursive: true });
    await writeFile(path, `${header}\n${rows.join("\n")}\n`);
    const { store, reports } = await opened({ path, format: "csv", namespace: "app" });
    expect(reports.map((e) => e.message.replace(`${path} `, ""))).toEqual([
      `skipped the stored record app:futu…: its format is ${RECORD_FORMAT + 1}, this version reads ${RECORD_FORMAT}`,
      "skipped the stored record app:shor…: it has 4 fields, not 10",
      "skipped the stored record app:notj…: its data is not JSON",
      `skipped the stored record app:quot…: its format is ${RECORD_FORMAT + 1}, this version reads ${RECORD_FORMAT}`,
    ]);
    expect(await store.set(rec("short"), { ifAbsent: true })).toBe(false);
    await store.set(rec("new"));
    await store.clear();
    expect(await readFile(path, "utf8")).toBe(`${[header, ...rows].join("\r\n")}\r\n`);
  });

  it("refuses a file whose header is not its own", async () => {
    const path = join(folder(), "sessions.csv");
    await mkdir(join(path, ".."), { recursive: true });
    await writeFile(path, "name,email\r\nada,ada@example.com\r\n");
    const store = fileStore({ path, format: "csv" });
    await expect(store.open?.({ report: () => {} })).rejects.toThrow(
      `cannot read the session file ${path}: its first row is not the header ${header}`,
    );
  });
});
