// Session servers in processes of their own, as a deployment runs several behind a balancer:
// the server's code bundled once with esbuild (drivers kept external), each process started on
// 127.0.0.1 and a free port, and stopped by its pid.
import { type ChildProcess, spawn } from "node:child_process";
import { rm } from "node:fs/promises";

const root = new URL("../../", import.meta.url).pathname;
let bundled: Promise<string> | undefined;

/** The server entry bundled for Node, once per test file (removed when the process exits). */
function bundle(): Promise<string> {
  bundled ??= (async () => {
    const { build } = await import("esbuild");
    const out = `${root}node_modules/.cache/sessionmanager-server-process/server-${process.pid}.mjs`;
    await build({
      stdin: {
        contents: `export { serve } from "./src/server/index.ts";`,
        resolveDir: root,
        loader: "ts",
      },
      bundle: true,
      platform: "node",
      format: "esm",
      // The source files behind `#backends` and `#node-server`, as the tests run them.
      conditions: ["sessionmanager-source"],
      packages: "external",
      outfile: out,
      logLevel: "silent",
    });
    process.once("exit", () => void rm(out, { force: true }));
    return out;
  })();
  return bundled;
}

/** A server in a child process. */
export interface ServerProcess {
  readonly url: string;
  readonly pid: number;
  /** Stops the process (SIGTERM, then SIGKILL) and waits for it to exit. */
  stop(): Promise<void>;
}

/**
 * Starts `serve(options)` in a new process (`port` 0 unless given) and resolves once it listens.
 * `options` must be JSON: a backend by name with its url, the auth secret, limits.
 */
export async function startServerProcess(options: Record<string, unknown>): Promise<ServerProcess> {
  const script = `
    const { serve } = await import(process.env.BUNDLE);
    const server = await serve({ port: 0, host: "127.0.0.1", ...JSON.parse(process.env.OPTIONS) });
    console.log(server.url);
    process.on("SIGTERM", async () => { await server.close(); process.exit(0); });`;
  const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
    env: { ...process.env, BUNDLE: await bundle(), OPTIONS: JSON.stringify(options) },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`the server process exited with ${code}`)));
    child.stdout?.once("data", (chunk: Buffer) => resolve(chunk.toString().trim()));
  });
  return { url, pid: child.pid as number, stop: () => stop(child) };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
  await exited;
  clearTimeout(timer);
}
