import * as fs from "node:fs/promises";
import { mkdir, readdir, readFile, rename, stat, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { BackendError, SessionManager } from "../../src/index.ts";
import { type FileStoreOptions, fileStore } from "../../src/stores/file/index.ts";
import { RECORD_FORMAT } from "../../src/stores/record.ts";
import { partitionOf } from "../../src/stores/shared/partition.ts";
import type { SessionPartition, SessionRecord, SessionStore } from "../../src/stores/types.ts";
import { errorsOf } from "../helpers/events.ts";
import { rec } from "../helpers/records.ts";
import { tempDir } from "../helpers/temp.ts";
import { testStore } from "./conformance.ts";

// The store's file calls, watched: how often it reads the file, and renames over it.
vi.mock("node:fs/promises", async (original) => {
  const real = await original<typeof import("node:fs/promises")>();
  const { open, readFile, rename } = real;
  return { ...real, open: vi.fn(open), readFile: vi.fn(readFile), rename: vi.fn(rename) };
});

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
    // The file and, while the store is open, its lock: no temp file.
    expect(await readdir(dir)).toEqual([`sessions.${format}`, `sessions.${format}.lock`]);
    expect(await store.list()).toHaveLength(202);
  });

  it("keeps namespaces that extend each other apart (shop, shop:eu), whatever they hold", async () => {
    const path = join(folder(), `sessions.${format}`);
    const names = ["shop", "shop:eu", 'shop,"eu"\r\n', "shop%3Aeu"];
    const stores = await Promise.all(
      names.map(async (namespace) => (await opened({ path, format, namespace })).store),
    );
    for (const [i, store] of stores.entries()) await store.set(rec(i === 0 ? "eu:alice" : "alice"));
    const [shop, eu] = stores as [SessionStore, SessionStore];
    await shop.clear();
    for (const store of stores.slice(1))
      expect((await store.list()).map((r) => r.id)).toEqual(["alice"]);
    await eu.clear();
    const again = (await opened({ path, format, namespace: "shop%3Aeu" })).store;
    expect((await again.list()).map((r) => r.id)).toEqual(["alice"]);
    expect(await shop.get("eu:alice")).toBeUndefined();
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

  it("adds a maxAge column only while a session has one; files without it still read", async () => {
    const path = join(folder(), "sessions.csv");
    const old = `app,before,{},1,2,${Date.now() + 60_000},4,5,,${RECORD_FORMAT}`;
    await mkdir(join(path, ".."), { recursive: true });
    await writeFile(path, `${header}\r\n${old}\r\n`);
    const { store, reports } = await opened({ path, format: "csv", namespace: "app" });
    const capped = rec("capped", { createdAt: 1, updatedAt: 2, expiresAt: 3, ttl: 4, maxAge: 5 });
    await store.set(capped);
    const lines = (await readFile(path, "utf8")).split("\r\n");
    expect(lines).toEqual([
      `${header},maxAge`,
      `${old},`,
      `app,capped,"{""n"":1}",1,2,3,4,1,,${RECORD_FORMAT},5`,
      "",
    ]);
    const { store: again } = await opened({ path, format: "csv", namespace: "app" });
    expect(await again.get("capped")).toEqual(capped);
    expect(await again.get("before")).not.toHaveProperty("maxAge");
    // Without a capped session the file is as versions before maxAge wrote it.
    await again.delete("capped");
    expect(await readFile(path, "utf8")).toBe(`${header}\r\n${old}\r\n`);
    expect(reports).toEqual([]);
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

describe.each(["json", "csv"] as const)("file store (%s) reading and writing", (format) => {
  /** How many times the file at `path` has been read (whole, or opened to be read). */
  const reads = (path: string) =>
    vi.mocked(fs.readFile).mock.calls.filter(([file]) => file === path).length +
    vi.mocked(fs.open).mock.calls.filter(([file, flags]) => file === path && flags !== "wx").length;
  const renames = (path: string) =>
    vi.mocked(fs.rename).mock.calls.filter(([, to]) => to === path).length;
  /** The text another program writes: a file of `records` in namespace "app". */
  const text = (...records: SessionRecord[]) => {
    if (format === "json") {
      const app = records.map((r) => ({ v: RECORD_FORMAT, ...r }));
      return JSON.stringify({ namespaces: { app } });
    }
    const rows = records.map(
      (r) =>
        `app,${r.id},"${JSON.stringify(r.data).replaceAll('"', '""')}",` +
        `${r.createdAt},${r.updatedAt},${r.expiresAt},${r.ttl},${r.version},,${RECORD_FORMAT}`,
    );
    return [header, ...rows, ""].join("\r\n");
  };
  const header = "namespace,id,data,createdAt,updatedAt,expiresAt,ttl,version,encrypted,format";
  const fresh = async () => {
    const path = join(folder(), `sessions.${format}`);
    return { path, ...(await opened({ path, format, namespace: "app" })) };
  };

  it("reads the file once, not on every call, while only this process writes it", async () => {
    const { path, store } = await fresh();
    await store.set(rec("a"));
    const before = reads(path);
    // Another store on the file shares what this one read.
    const { store: other } = await opened({ path, format, namespace: "app" });
    for (let i = 0; i < 20; i++) {
      expect((await store.get("a"))?.id).toBe("a");
      await (i % 2 ? store : other).set(rec(`s${i}`));
    }
    expect(await other.list()).toHaveLength(21);
    expect(reads(path)).toBe(before);
  });

  it("sees a file another program rewrote in place, or renamed a new file over", async () => {
    const { path, store } = await fresh();
    await store.set(rec("a", { data: "ours" }));
    // In place, as an editor or `cp` would, right away (within the same clock tick, maybe).
    await writeFile(path, text(rec("a", { data: "edited" }), rec("b")));
    expect((await store.get("a"))?.data).toBe("edited");
    // Renamed over it, with the same size as what is there now.
    const same = text(rec("a", { data: "EDITED" }), rec("b"));
    await writeFile(`${path}.new`, same);
    await rename(`${path}.new`, path);
    expect((await store.get("a"))?.data).toBe("EDITED");
    // Written back over again by the store: the other program's records are kept.
    await store.set(rec("c"));
    expect((await store.list()).map((r) => r.id).sort()).toEqual(["a", "b", "c"]);
  });

  it("sees a file changed in place to the same size right after it was read", async () => {
    const dir = folder();
    const path = join(dir, `sessions.${format}`);
    await mkdir(dir, { recursive: true });
    await writeFile(path, text(rec("a", { data: "one" })));
    const { store } = await opened({ path, format, namespace: "app" });
    expect((await store.get("a"))?.data).toBe("one");
    // Same inode, same size, and likely the same timestamps: only the content differs.
    await writeFile(path, text(rec("a", { data: "two" })));
    expect((await store.get("a"))?.data).toBe("two");
  });

  it("sees the file deleted, and a file made unreadable, which it leaves as it is", async () => {
    const { path, store } = await fresh();
    await store.set(rec("a"));
    await fs.rm(path);
    expect(await store.get("a")).toBeUndefined();
    await store.set(rec("b"));
    await writeFile(path, "{oops");
    await expect(store.get("b")).rejects.toThrow(/cannot read the session file/);
    await expect(store.set(rec("c"))).rejects.toThrow(/cannot read the session file/);
    expect(await readFile(path, "utf8")).toBe("{oops");
    await writeFile(path, text(rec("d")));
    expect((await store.list()).map((r) => r.id)).toEqual(["d"]);
  });

  it("writes the changes made together once, each decided in turn", async () => {
    const { path, store } = await fresh();
    const { store: other } = await opened({ path, format, namespace: "app" });
    await store.set(rec("first"));
    const before = renames(path);
    const results = await Promise.all([
      ...Array.from({ length: 50 }, (_, i) => (i % 2 ? store : other).set(rec(`s${i}`))),
      store.set(rec("race", { data: 1 }), { ifAbsent: true }),
      other.set(rec("race", { data: 2 }), { ifAbsent: true }),
      other.delete("first", { ifVersion: 1 }),
      store.delete("first"),
    ]);
    expect(results.slice(50)).toEqual([true, false, true, false]);
    expect(renames(path) - before).toBe(1);
    const { store: again } = await opened({ path, format, namespace: "app" });
    expect(await again.list()).toHaveLength(51);
    expect((await again.get("race"))?.data).toBe(1);
  });

  it("clears an owner's partition in one write, whatever its size (issue 11, finding 3)", async () => {
    const { path, store } = await fresh();
    const owners = ["ada", "ada/x", "bob"].map((owner) => partitionOf(store, owner));
    await Promise.all(owners.map((p) => Promise.all([1, 2, 3].map((i) => p.set(rec(`s${i}`))))));
    const [ada, adaX, bob] = owners as [SessionPartition, SessionPartition, SessionPartition];
    await Promise.all(Array.from({ length: 97 }, (_, i) => ada.set(rec(`more${i}`))));
    await store.set(rec("root"));
    const before = renames(path);
    const removed = await ada.clear();
    expect(renames(path) - before).toBe(1);
    expect(removed).toHaveLength(100);
    expect(removed.map((r) => r.id)).toContain("s1");
    expect((await ada.list({ limit: 10 })).records).toEqual([]);
    for (const other of [adaX, bob])
      expect((await other.list({ limit: 10 })).records).toHaveLength(3);
    expect(await store.get("root")).toBeDefined();
    expect(await ada.clear()).toEqual([]);
    expect(renames(path) - before).toBe(1);
  });

  it("rejects every change of a write that fails, and forgets them", async () => {
    const { path, store } = await fresh();
    await store.set(rec("kept"));
    const written = await readFile(path, "utf8");
    vi.mocked(fs.rename).mockRejectedValueOnce(
      Object.assign(new Error("no space"), { code: "ENOSPC" }),
    );
    const changes = [store.set(rec("lost1")), store.set(rec("lost2")), store.delete("kept")];
    for (const change of changes) await expect(change).rejects.toThrow("no space");
    expect((await store.list()).map((r) => r.id)).toEqual(["kept"]);
    expect(await readFile(path, "utf8")).toBe(written);
    expect((await readdir(join(path, ".."))).filter((name) => name.endsWith(".tmp"))).toEqual([]);
  });
});
