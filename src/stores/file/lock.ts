/// <reference types="node" />
// One process at a time on a file: a lock file beside it names the process that holds it.
//
// Node has no flock(2) or fcntl locks without native code, so the lock is a file created with
// O_EXCL holding `{"pid","host","token"}`. A lock whose process is gone (a crash, SIGKILL) is
// stale and taken over; the takeover itself is serialised by a second O_EXCL file (`.break`),
// so two processes finding the same stale lock never both take it.

import { randomUUID } from "node:crypto";
import { readFileSync, unlinkSync } from "node:fs";
import { open, readdir, readFile, rm, stat } from "node:fs/promises";
import { hostname } from "node:os";
import { dirname, join } from "node:path";
import { BackendError } from "../../errors.ts";
import { isTempOf } from "./io.ts";

/** A lock file whose contents cannot be read is stale once this old (its writer died creating it). */
const ABANDONED_MS = 5000;
/** Rounds of "the lock is being taken over by another process, look again". */
const ATTEMPTS = 20;

/** This process's hold on one file's lock: how many stores use it, and the lock's token. */
interface Holding {
  count: number;
  token: string | undefined;
  /** The holds and releases of the file, one after the other. */
  chain: Promise<unknown>;
}

const holdings = new Map<string, Holding>();

/**
 * The tokens of the locks held in this process, on `globalThis`: a second copy of this module
 * (the CommonJS and the ESM build both loaded) has its own queues, so it must not share a lock.
 */
function heldHere(): Set<string> {
  const key = Symbol.for("sessionmanager.fileLocks");
  const scope = globalThis as { [key]?: Set<string> };
  scope[key] ??= new Set();
  return scope[key];
}

/**
 * Takes `file`'s lock for this process, or counts one more store using it. Rejects with
 * `BackendError` naming the process that holds it.
 */
export function hold(file: string): Promise<void> {
  return serial(file, async (holding) => {
    if (holding.count === 0) holding.token = await acquire(file);
    holding.count++;
  });
}

/** One store fewer uses `file`'s lock: the last one releases it. */
export function letGo(file: string): Promise<void> {
  return serial(file, async (holding) => {
    if (holding.count === 0 || --holding.count > 0) return;
    const token = holding.token;
    holding.token = undefined;
    if (token) await release(file, token);
  });
}

function serial(file: string, step: (holding: Holding) => Promise<void>): Promise<void> {
  let holding = holdings.get(file);
  if (!holding) {
    holding = { count: 0, token: undefined, chain: Promise.resolve() };
    holdings.set(file, holding);
  }
  const current = holding;
  const run = current.chain.then(() => step(current));
  const settled = run.catch(() => {});
  current.chain = settled;
  void settled.then(() => {
    if (current.chain === settled && current.count === 0) holdings.delete(file);
  });
  return run;
}

export function lockOf(file: string): string {
  return `${file}.lock`;
}

interface Holder {
  text: string;
  pid?: number;
  host?: string;
  token?: string;
}

function parse(text: string): Holder {
  try {
    const { pid, host, token } = JSON.parse(text);
    if (Number.isInteger(pid) && typeof host === "string" && typeof token === "string") {
      return { text, pid, host, token };
    }
  } catch {}
  return { text };
}

async function acquire(file: string): Promise<string> {
  const lock = lockOf(file);
  const token = randomUUID();
  const mine = JSON.stringify({ pid: process.pid, host: hostname(), token });
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 5));
    if (await create(lock, mine)) {
      heldHere().add(token);
      releaseOnExit();
      await sweep(file);
      return token;
    }
    const text = await readFile(lock, "utf8").catch(missing);
    if (text === undefined) continue; // released meanwhile
    const holder = parse(text);
    const held = await heldBy(lock, holder);
    if (held) {
      throw new BackendError(
        `the session file ${file} is in use by ${held} (lock file ${lock}): one process at a time may open it; if that process is gone, delete the lock file`,
      );
    }
    await breakStale(lock, text);
  }
  throw new BackendError(
    `could not lock the session file ${file} (lock file ${lock}): other processes kept taking it`,
  );
}

/** Creates `path` with `text` if no file has that name; false if one does. */
async function create(path: string, text: string): Promise<boolean> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, "wx", 0o600);
  } catch (error) {
    if ((error as { code?: string }).code === "EEXIST") return false;
    throw error;
  }
  try {
    await handle.writeFile(text);
  } catch (error) {
    // A full disk, say: no half-written lock is left behind.
    await handle.close();
    await rm(path, { force: true });
    throw error;
  }
  await handle.close();
  return true;
}

/** Who holds a lock, in words; `undefined` if nobody does any more (the lock is stale). */
async function heldBy(lock: string, holder: Holder): Promise<string | undefined> {
  const { pid, host, token } = holder;
  if (pid === undefined || token === undefined) {
    // Being written by its creator, or left half-written by one that died.
    const age = await stat(lock).then((s) => Date.now() - s.mtimeMs, missing);
    return age !== undefined && age < ABANDONED_MS ? "another process" : undefined;
  }
  // A process id means nothing on another machine (or container): it cannot be checked there.
  if (host !== hostname()) return `process ${pid} on host ${host}`;
  if (pid === process.pid) {
    // This process's id, but not this copy's lock: another copy of the library here, or a
    // process before a restart that got the same id (pid 1 in a container).
    return heldHere().has(token) ? `another copy of sessionmanager in this process` : undefined;
  }
  try {
    process.kill(pid, 0);
    return `process ${pid}`;
  } catch (error) {
    // EPERM: it exists but belongs to another user.
    return (error as { code?: string }).code === "EPERM" ? `process ${pid}` : undefined;
  }
}

/**
 * Removes the stale lock whose contents are `stale`, unless someone else already took it over.
 * Only the process that created `<lock>.break` may remove it; a `.break` left by a process that
 * died doing so is removed once it is old.
 */
async function breakStale(lock: string, stale: string): Promise<void> {
  const breaker = `${lock}.break`;
  if (!(await create(breaker, String(process.pid)))) {
    const age = await stat(breaker).then((s) => Date.now() - s.mtimeMs, missing);
    if (age !== undefined && age > ABANDONED_MS) await rm(breaker, { force: true });
    return;
  }
  try {
    if ((await readFile(lock, "utf8").catch(missing)) === stale) await rm(lock, { force: true });
  } finally {
    await rm(breaker, { force: true });
  }
}

/** Removes the lock if it is still ours. */
async function release(file: string, token: string): Promise<void> {
  heldHere().delete(token);
  const lock = lockOf(file);
  const text = await readFile(lock, "utf8").catch(missing);
  if (text !== undefined && parse(text).token === token) await rm(lock, { force: true });
}

let exitHooked = false;

/** On a normal exit (not a signal's default action, nor SIGKILL), the locks are removed. */
function releaseOnExit(): void {
  if (exitHooked) return;
  exitHooked = true;
  process.once("exit", () => {
    for (const [file, { token }] of holdings) {
      if (!token) continue;
      try {
        const lock = lockOf(file);
        if (parse(readFileSync(lock, "utf8")).token === token) unlinkSync(lock);
      } catch {}
    }
  });
}

/** Removes the temporary files of writes that never finished (a crash): nobody else writes now. */
async function sweep(file: string): Promise<void> {
  const dir = dirname(file);
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names) {
    // One that cannot be removed is left: it is only a copy.
    if (isTempOf(file, name)) await rm(join(dir, name), { force: true }).catch(() => {});
  }
}

function missing(error: unknown): undefined {
  if ((error as { code?: string }).code === "ENOENT") return undefined;
  throw error;
}
