// Server processes for the HTTP benchmark: the `sessionmanager serve` command as users run it
// (dist/cli.js), and the fixed-JSON baselines (baseline.mjs). Each in its own child process, so
// the load generator in this process does not share its event loop.
import { spawn } from "node:child_process";
import { connect } from "node:net";
import { fileURLToPath } from "node:url";
import { distPath } from "../lib/dist.mjs";

export const CLI = distPath("cli.js");
const BASELINE = fileURLToPath(new URL("./baseline.mjs", import.meta.url));
const START_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 10_000;
const LISTENING = /listening on (http:\/\/\S+)/;

/**
 * Starts `sessionmanager serve <args>` on a free port. `nodeArgs` go to node itself (such as
 * `--cpu-prof`); `cli` another build of the command, to compare. Resolves to `{ url, stderr(), stop() }` once the server prints its URL.
 */
export function startServer(args, { secret, nodeArgs = [], cli = CLI }) {
  const child = spawn(
    process.execPath,
    [...nodeArgs, cli, "serve", "--port", "0", "--log-level", "warn", ...args],
    {
      env: { ...process.env, SESSIONMANAGER_SECRET: secret },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  return listening(child, `sessionmanager serve ${args.join(" ")}`);
}

/** Starts a fixed-JSON server: `node` (bare node:http) or `hono` (Hono on @hono/node-server). */
export function startBaseline(kind) {
  const child = spawn(process.execPath, [BASELINE, kind], { stdio: ["ignore", "pipe", "pipe"] });
  return listening(child, `baseline ${kind}`);
}

/** Whether something accepts TCP connections at `host:port`. */
export function reachable(host, port, timeout = 1000) {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (up) => {
      socket.destroy();
      resolve(up);
    };
    socket.setTimeout(timeout, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

function listening(child, name) {
  let stdout = "";
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (text) => {
    stderr += text;
  });
  const exited = new Promise((resolve) => child.once("exit", (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${name}: no URL after ${START_TIMEOUT_MS} ms\n${stdout}${stderr}`));
    }, START_TIMEOUT_MS);
    child.stdout.setEncoding("utf8").on("data", (text) => {
      stdout += text;
      const url = LISTENING.exec(stdout)?.[1];
      if (!url) return;
      clearTimeout(timer);
      resolve({ url, pid: child.pid, stderr: () => stderr, stop: () => stop(child, exited) });
    });
    exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with code ${code}\n${stdout}${stderr}`));
    });
  });
}

/** SIGTERM (the command closes cleanly, and writes a --cpu-prof profile), SIGKILL if it hangs. */
async function stop(child, exited) {
  if (child.exitCode !== null || child.signalCode !== null) return exited;
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), STOP_TIMEOUT_MS);
  const code = await exited;
  clearTimeout(timer);
  return code;
}
