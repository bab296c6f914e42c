// One writer per file, across real processes: the file store bundled with esbuild and run in
// child processes, against a store in this one. Issue 11, finding 7.
import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { BackendError } from "../../src/index.ts";
import { fileStore } from "../../src/stores/file/index.ts";
import type { SessionStore } from "../../src/stores/types.ts";
import { rec } from "../helpers/records.ts";
import { tempDir } from "../helpers/temp.ts";

const root = await tempDir("sessionmanager-file-lock-");
const bundle = join(root, "file-store.mjs");
let folders = 0;
const fileIn = async (name = "sessions.json") => {
  const dir = join(root, `case${++folders}`);
  await mkdir(dir);
  return join(dir, name);
};

beforeAll(async () => {
  const { build } = await import("esbuild");
  await build({
    entryPoints: [new URL("../../src/stores/file/index.ts", import.meta.url).pathname],
    bundle: true,
    platform: "node",
    format: "esm",
    outfile: bundle,
    logLevel: "silent",
  });
});

/**
 * What the child does once its store is open: `hold` keeps it open until killed; `write`, told
 * on stdin, adds `COUNT` records one by one, and exits when told again; `exit` exits when told
 * (without closing: the exit handler releases the lock); `churn` rewrites a large record until
 * killed.
 */
const CHILD = `
  const { fileStore } = await import(process.env.BUNDLE);
  const say = (message) => process.stdout.write(JSON.stringify(message) + "\\n");
  const store = fileStore({ path: process.env.FILE });
  try {
    await store.open({ report() {} });
  } catch (error) {
    say({ ok: false, name: error.name, code: error.code, message: error.message });
    process.exit(0);
  }
  say({ ok: true, pid: process.pid });
  const now = Date.now();
  const record = (id, data = null) => ({ id, data, createdAt: now, updatedAt: now,
    expiresAt: now + 3600000, ttl: 3600000, version: 1 });
  const cue = () => new Promise((resolve) => process.stdin.once("data", resolve));
  if (process.env.MODE === "write") {
    await cue();
    const acked = [];
    for (let i = 0; i < Number(process.env.COUNT); i++) {
      const id = process.env.TAG + i;
      try { await store.set(record(id)); acked.push(id); } catch { break; }
    }
    say({ acked });
    await cue();
    process.exit(0);
  } else if (process.env.MODE === "exit") {
    await cue();
    process.exit(0);
  } else if (process.env.MODE === "churn") {
    for (let i = 0; ; i++) await store.set(record("big", "x".repeat(4000000) + i));
  } else setInterval(() => {}, 60000);
`;

interface Child {
  process: ChildProcess;
  /** The messages it printed, one per line, as they come. */
  next(): Promise<Record<string, unknown>>;
  exited: Promise<number | null>;
}

const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
});

function child(file: string, env: Record<string, string> = {}): Child {
  const proc = spawn(process.execPath, ["--input-type=module", "-e", CHILD], {
    env: { ...process.env, BUNDLE: bundle, FILE: file, MODE: "hold", ...env },
    stdio: ["pipe", "pipe", "inherit"],
  });
  children.push(proc);
  const lines: string[] = [];
  const waiting: ((line: string) => void)[] = [];
  let buffer = "";
  proc.stdout?.on("data", (chunk: Buffer) => {
    buffer += chunk.toString();
    for (let at = buffer.indexOf("\n"); at >= 0; at = buffer.indexOf("\n")) {
      const line = buffer.slice(0, at);
      buffer = buffer.slice(at + 1);
      const wake = waiting.shift();
      wake ? wake(line) : lines.push(line);
    }
  });
  const exited = new Promise<number | null>((resolve) => proc.once("exit", resolve));
  return {
    process: proc,
    async next() {
      const line =
        lines.shift() ??
        (await Promise.race([
          new Promise<string>((resolve) => waiting.push(resolve)),
          exited.then((code) => {
            throw new Error(`the child exited (${code}) without saying more`);
          }),
        ]));
      return JSON.parse(line);
    },
    exited,
  };
}

async function open(path: string): Promise<SessionStore> {
  const store = fileStore({ path });
  await store.open?.({ report: () => {} });
  return store;
}

/** The id of a process that has ended. */
async function deadPid(): Promise<number> {
  const proc = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
  await new Promise((resolve) => proc.once("exit", resolve));
  return proc.pid as number;
}

const lockText = (pid: number, host = hostname()) =>
  JSON.stringify({ pid, host, token: randomUUID() });

describe("file store: one process at a time", () => {
  it("fails another process fast with BackendError naming the file and this process", async () => {
    const path = await fileIn();
    const store = await open(path);
    await store.set(rec("mine"));
    const other = child(path);
    const said = await other.next();
    expect(said).toMatchObject({ ok: false, name: "BackendError", code: "BACKEND_UNAVAILABLE" });
    expect(said.message).toContain(path);
    expect(said.message).toContain(`process ${process.pid}`);
    await other.exited;
    // Once this one closes, the file is free.
    await store.close?.();
    const next = child(path);
    expect(await next.next()).toMatchObject({ ok: true });
    next.process.kill("SIGKILL");
    await next.exited;
  });

  it("refuses this process while another holds it, and every call until it lets go", async () => {
    const path = await fileIn();
    const holder = child(path);
    const { pid } = await holder.next();
    const store = fileStore({ path });
    const error = await Promise.resolve(store.open?.({ report: () => {} })).catch((e) => e);
    expect(error).toBeInstanceOf(BackendError);
    expect((error as Error).message).toMatch(new RegExp(`in use by process ${pid}\\b`));
    // A manager keeps using a store whose open failed: its calls must not write unlocked.
    await expect(store.set(rec("sneaky"))).rejects.toBeInstanceOf(BackendError);
    await expect(readFile(path, "utf8")).rejects.toMatchObject({ code: "ENOENT" });
    holder.process.kill("SIGKILL");
    await holder.exited;
    // Its holder gone, the next call takes the lock over and works.
    expect(await store.set(rec("now"))).toBe(true);
    await store.close?.();
  });

  it("loses no acknowledged write when two processes start on one file at once", async () => {
    const path = await fileIn();
    const writers = ["a", "b"].map((tag) => child(path, { MODE: "write", COUNT: "150", TAG: tag }));
    // Both have opened (or failed to) before either writes.
    const opened = (await Promise.all(writers.map((w) => w.next()))).map((said, i) => {
      if (!said.ok) expect(said).toMatchObject({ name: "BackendError" });
      return said.ok ? writers[i] : undefined;
    });
    const running = opened.filter((w) => w !== undefined);
    for (const writer of running) writer.process.stdin?.write("go\n");
    const acked: string[] = [];
    for (const writer of running) acked.push(...((await writer.next()).acked as string[]));
    for (const writer of running) writer.process.stdin?.write("exit\n");
    await Promise.all(writers.map((w) => w.exited));
    const store = await open(path);
    const stored = new Set((await store.list()).map((r) => r.id));
    expect(acked.filter((id) => !stored.has(id))).toEqual([]);
    expect(running).toHaveLength(1);
    expect(acked).toHaveLength(150);
    await store.close?.();
  });

  it("releases the lock when the process exits without closing", async () => {
    const path = await fileIn();
    const holder = child(path, { MODE: "exit" });
    const { pid } = await holder.next();
    expect(JSON.parse(await readFile(`${path}.lock`, "utf8"))).toMatchObject({ pid });
    holder.process.stdin?.write("exit\n");
    expect(await holder.exited).toBe(0);
    await expect(readFile(`${path}.lock`)).rejects.toMatchObject({ code: "ENOENT" });
  });
});

describe("file store: a lock its holder left behind", () => {
  it("takes over the lock of a process killed with SIGKILL", async () => {
    const path = await fileIn();
    const holder = child(path);
    const { pid } = await holder.next();
    expect(JSON.parse(await readFile(`${path}.lock`, "utf8"))).toMatchObject({ pid });
    holder.process.kill("SIGKILL");
    await holder.exited;
    const store = await open(path);
    expect(JSON.parse(await readFile(`${path}.lock`, "utf8"))).toMatchObject({
      pid: process.pid,
    });
    // And holds it: the next process is refused.
    const next = child(path);
    expect(await next.next()).toMatchObject({ ok: false, name: "BackendError" });
    await store.close?.();
  });

  it("lets exactly one of several processes take over the same stale lock", async () => {
    const path = await fileIn();
    await writeFile(`${path}.lock`, lockText(await deadPid()));
    const racers = Array.from({ length: 4 }, () => child(path));
    const said = await Promise.all(racers.map((racer) => racer.next()));
    expect(said.filter((s) => s.ok)).toHaveLength(1);
    for (const s of said.filter((s) => !s.ok)) expect(s).toMatchObject({ name: "BackendError" });
    for (const racer of racers) racer.process.kill("SIGKILL");
    await Promise.all(racers.map((racer) => racer.exited));
  });

  it("takes over a lock with its own pid but not its own (a restart that got the same pid)", async () => {
    const path = await fileIn();
    await mkdir(join(path, ".."), { recursive: true });
    await writeFile(`${path}.lock`, lockText(process.pid));
    const store = await open(path);
    expect(await store.set(rec("a"))).toBe(true);
    await store.close?.();
    await expect(readFile(`${path}.lock`)).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("refuses a lock taken on another host, whose process it cannot check", async () => {
    const path = await fileIn();
    await writeFile(`${path}.lock`, lockText(await deadPid(), "elsewhere.example"));
    await expect(open(path)).rejects.toThrow(/in use by process \d+ on host elsewhere\.example/);
  });

  it("refuses another copy of the library in this process (its calls are queued apart)", async () => {
    const path = await fileIn();
    const store = await open(path);
    vi.resetModules();
    const copy = await import("../../src/stores/file/index.ts");
    const twin = copy.fileStore({ path });
    await expect(twin.open?.({ report: () => {} })).rejects.toThrow(/another copy/);
    // Another store of the same copy shares the lock (and the queue).
    const same = await open(path);
    await same.close?.();
    expect(await store.set(rec("still"))).toBe(true);
    await store.close?.();
  });
});

describe("file store: temporary files of writes that never finished", () => {
  it("removes them on open, and nothing else", async () => {
    const path = await fileIn();
    const dir = join(path, "..");
    const stale = [`.sessions.json.${randomUUID()}.tmp`, `.sessions.json.${randomUUID()}.tmp`];
    const others = [`.other.json.${randomUUID()}.tmp`, ".sessions.json.notes.tmp", "keep.tmp"];
    for (const name of [...stale, ...others]) await writeFile(join(dir, name), "{}");
    const store = await open(path);
    expect((await readdir(dir)).sort()).toEqual([...others, "sessions.json.lock"].sort());
    await store.close?.();
  });

  it("removes the temporary file of a process killed in the middle of a write", async () => {
    const path = await fileIn();
    const dir = join(path, "..");
    let temps: string[] = [];
    // Killed at some point of its writes of 4 MB: most of the time in the middle of one.
    for (let round = 0; round < 10 && temps.length === 0; round++) {
      const writer = child(path, { MODE: "churn" });
      expect(await writer.next()).toMatchObject({ ok: true });
      await new Promise((resolve) => setTimeout(resolve, 150 + 20 * round));
      writer.process.kill("SIGKILL");
      await writer.exited;
      temps = (await readdir(dir)).filter((name) => name.endsWith(".tmp"));
    }
    expect(temps).toHaveLength(1);
    const store = await open(path);
    expect((await readdir(dir)).filter((name) => name.endsWith(".tmp"))).toEqual([]);
    await store.close?.();
  });
});

afterAll(() => rm(bundle, { force: true }));
