/// <reference types="node" />
// The file store's I/O: who a file is, reading it, and writing it all or nothing.

import { randomUUID } from "node:crypto";
import type { BigIntStats } from "node:fs";
import { type FileHandle, mkdir, open, realpath, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type { Contents, Format } from "./format.ts";

/** The contents of a file as this process last read or wrote it. */
export interface Snapshot {
  format: Format;
  /** What `identify` says of the file holding these contents; `undefined` when it cannot tell. */
  identity: string | undefined;
  contents: Contents;
}

/** Says who the file at `file` is: inode, size and times, or that there is none. */
export async function identify(file: string): Promise<string> {
  try {
    return identityOf(await stat(file, { bigint: true }));
  } catch (error) {
    if ((error as { code?: string }).code === "ENOENT") return MISSING;
    throw error;
  }
}

const MISSING = "missing";

function identityOf(stats: BigIntStats): string {
  return `${stats.dev}:${stats.ino}:${stats.size}:${stats.mtimeNs}:${stats.ctimeNs}`;
}

/**
 * A file's times tick coarsely (a few milliseconds on Linux, 2 s on FAT), so a file changed in
 * place again within the tick in which it was read keeps its identity. Contents read that soon
 * after the last change are not trusted: the next call reads the file again (git's "racy clean").
 */
const RACY_MS = 2000n;

/** The file's contents, with the identity they go with (a missing file is empty). */
export async function load(file: string, format: Format): Promise<Snapshot> {
  let handle: FileHandle;
  try {
    handle = await open(file, "r");
  } catch (error) {
    if ((error as { code?: string }).code !== "ENOENT") throw error;
    return { format, identity: MISSING, contents: format.parse("", file) };
  }
  try {
    // The identity is taken first: were the file changed during the read, it is read again.
    const stats = await handle.stat({ bigint: true });
    // A byte order mark, as editors such as Excel write, is not content.
    const text = (await handle.readFile("utf8")).replace(/^\uFEFF/, "");
    // The change time, set by the system to its clock on every change (the modification time
    // can be set to anything).
    const settled = BigInt(Date.now()) - stats.ctimeMs > RACY_MS;
    return {
      format,
      identity: settled ? identityOf(stats) : undefined,
      contents: format.parse(text, file),
    };
  } finally {
    await handle.close();
  }
}

/** The real path of `file` (after creating its directory), so that every spelling of it shares one queue. */
export async function canonical(file: string): Promise<string> {
  await mkdir(dirname(file), { recursive: true });
  const full = join(await realpath(dirname(file)), basename(file));
  // A link is followed: renaming over the link itself would replace it with a plain file.
  return realpath(full).catch(() => full);
}

/** Whether `name` (in `file`'s folder) is one of the temporary files `writeAtomically` makes for `file`. */
export function isTempOf(file: string, name: string): boolean {
  const stem = `.${basename(file)}.`;
  return name.startsWith(stem) && TEMP.test(name.slice(stem.length));
}

const TEMP = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.tmp$/;

/**
 * Writes `text` to a new file beside `file`, then renames it over `file`: all or nothing.
 * Returns the identity of the file it wrote, as it is after the rename.
 */
export async function writeAtomically(file: string, text: string): Promise<string> {
  const temp = join(dirname(file), `.${basename(file)}.${randomUUID()}.tmp`);
  let renamed = false;
  try {
    const handle = await open(temp, "wx", 0o600);
    try {
      await handle.writeFile(text);
      // On disk before the rename, or a crash could leave the new name on empty data.
      await handle.datasync();
      await rename(temp, file);
      renamed = true;
      // Through the handle: the file now at `file` may already be another writer's.
      return identityOf(await handle.stat({ bigint: true }));
    } finally {
      await handle.close();
    }
  } catch (error) {
    if (!renamed) await rm(temp, { force: true });
    throw error;
  }
}
