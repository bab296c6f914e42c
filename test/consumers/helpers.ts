// What the consumer tests share: servers started and stopped by process group, the session route
// every framework app exposes, and the scan of browser output for Node code.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { gzipSync } from "node:zlib";
import { expect } from "vitest";
import { unstack } from "./workspace.ts";

/** A free TCP port on 127.0.0.1 (asked of the OS, then released for the server to take). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

export interface Server {
  url: string;
  output: () => string;
  stop: () => Promise<void>;
}

/**
 * Starts a server on 127.0.0.1 at a free port (given as PORT, HOST, HOSTNAME and Nitro's
 * variables) in a process group of its own, and waits until it answers HTTP. `stop` ends the group.
 */
export async function startServer(
  cmd: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv = {},
): Promise<Server> {
  const port = await freePort();
  const host = "127.0.0.1";
  const child = spawn(cmd, args, {
    cwd,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...process.env,
      NODE_ENV: "production",
      PORT: String(port),
      HOST: host,
      HOSTNAME: host,
      NITRO_PORT: String(port),
      NITRO_HOST: host,
      ...env,
    },
  });
  let output = "";
  child.stdout?.on("data", (chunk) => (output += chunk));
  child.stderr?.on("data", (chunk) => (output += chunk));
  const server = {
    url: `http://${host}:${port}`,
    output: () => output,
    stop: () => stopGroup(child),
  };
  try {
    await waitForHttp(server.url, child, () => output);
  } catch (error) {
    await server.stop();
    throw error;
  }
  return server;
}

async function waitForHttp(url: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(`the server exited with ${child.exitCode} before answering:\n${output()}`);
    }
    try {
      await fetch(url, { signal: AbortSignal.timeout(2000) });
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  throw new Error(`no answer from ${url} within 60 s:\n${output()}`);
}

/** Ends the process group the child leads (npm, a framework CLI and its workers), then waits. */
async function stopGroup(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.pid === undefined) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  try {
    process.kill(-child.pid, "SIGTERM");
  } catch {
    return;
  }
  const timer = setTimeout(() => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
    } catch {
      // already gone
    }
  }, 5000);
  await exited;
  clearTimeout(timer);
}

/**
 * Adds a session through the app's route (POST), reads it back in a second request (GET), and
 * checks it came from SQLite: the database file the app was pointed at exists.
 */
export async function expectSessionRoute(
  server: Server,
  path: string,
  framework: string,
  dbPath: string,
): Promise<void> {
  const id = `user-${Math.random().toString(36).slice(2)}`;
  const call = async (method: string) => {
    const response = await fetch(`${server.url}${path}?id=${id}`, { method });
    const text = await response.text();
    const body = parseJson(text);
    // What went wrong, readable in the report: the answer's error and `error` events, the server log.
    const why = unstack(
      [
        `${method} ${path} answered ${response.status}: ${body.error ?? ""}`,
        ...(body.errors ?? []).map((error: string) => `error event: ${error}`),
        body.notJson ? `not JSON: ${body.notJson}` : "",
        `server log (end): ${server.output().slice(-1500)}`,
      ]
        .filter(Boolean)
        .join("\n"),
    );
    expect(response.status, why).toBe(200);
    expect(body.errors, why).toEqual([]);
    expect(body, why).toMatchObject({ id, data: { framework }, status: "ready" });
  };
  await call("POST");
  await call("GET");
  expect(existsSync(dbPath), `the SQLite file ${dbPath}`).toBe(true);
  expect(statSync(dbPath).size).toBeGreaterThan(0);
}

function parseJson(text: string): { error?: string; errors?: string[]; notJson?: string } {
  try {
    return JSON.parse(text);
  } catch {
    return { notJson: text.slice(0, 2000) };
  }
}

/** Every file under `dir` whose name ends with one of `extensions`. */
export function filesUnder(dir: string, extensions: string[]): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .map((name) => join(dir, name))
    .filter((file) => extensions.some((ext) => file.endsWith(ext)) && statSync(file).isFile());
}

/**
 * Signs of Node code in browser output: a driver's name, a `node:` import, or text only the Node
 * stores hold (SQL, SQLite's WAL pragma, Redis scripts).
 */
const nodeSigns: [string, RegExp][] = [
  ["better-sqlite3", /better-sqlite3/],
  ["pg", /(?:from|import|require)\s*\(?\s*["']pg["']/],
  ["ioredis", /ioredis/],
  ["memjs", /memjs/],
  ["a node: import", /["']node:[a-z_/]+["']/],
  ["the SQL of the SQLite/PostgreSQL stores", /CREATE TABLE IF NOT EXISTS/],
  ["the SQLite store's WAL pragma", /journal_mode/],
  ["the file store", /file format must be/],
];

/** Which signs of Node code the files hold, as "file: sign" lines (none: an empty list). */
export function nodeCodeIn(files: string[]): string[] {
  const hits: string[] = [];
  for (const file of files) {
    const text = readFileSync(file, "utf8");
    for (const [sign, pattern] of nodeSigns) if (pattern.test(text)) hits.push(`${file}: ${sign}`);
  }
  return hits;
}

/** gzip size of the files together, in kB (1000 bytes), as bundle budgets count them. */
export function gzipKb(files: string[]): number {
  const bytes = files.reduce(
    (sum, file) => sum + gzipSync(readFileSync(file), { level: 9 }).length,
    0,
  );
  return Math.round(bytes / 10) / 100;
}

/** The IndexedDB store's code is in the file (names that survive minification). */
export function holdsIndexedDBStore(file: string): boolean {
  const text = readFileSync(file, "utf8");
  return text.includes("createObjectStore") && text.includes("expiresAt");
}

/**
 * A deployed copy proves its dependencies were traced only if Node cannot find them elsewhere:
 * no node_modules in any folder above it.
 */
export function expectNoNodeModulesAbove(dir: string): void {
  for (let up = dirname(dir); ; up = dirname(up)) {
    expect(existsSync(join(up, "node_modules")), `${up}/node_modules exists`).toBe(false);
    if (dirname(up) === up) return;
  }
}

/**
 * Runs `step` (a build) the first time the returned function is called, and from then on throws
 * its error, if any, at every call: each test that needs the build fails with the build's error,
 * where a failing `beforeAll` would only mark them skipped.
 */
export function once(step: () => void): () => void {
  let outcome: { error?: unknown } | undefined;
  return () => {
    if (!outcome) {
      try {
        step();
        outcome = {};
      } catch (error) {
        outcome = { error };
      }
    }
    if (outcome.error) throw outcome.error;
  };
}
