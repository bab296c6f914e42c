// The server processes of the sessions bench: `node server.mjs <app>` in a child process each, so
// the load generator (autocannon, in the parent) does not share an event loop with the server it
// measures. A server prints "listening on <url>" once it is ready; it is stopped by its own pid.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const SERVER = fileURLToPath(new URL("./server.mjs", import.meta.url));
const START_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 10_000;
const LISTENING = /listening on (http:\/\/\S+)/;

/**
 * Starts the app `app` (see server.mjs) with `config` ({ redisUrl, run }) on the build in `dist`
 * (a folder), node run with `nodeArgs` (such as --cpu-prof). Resolves to `{ app, url, pid, stderr(), stop() }` once it listens; rejects with its
 * output if it exits first.
 */
export function startApp(app, config, dist, nodeArgs = []) {
  const child = spawn(process.execPath, [...nodeArgs, SERVER, app, JSON.stringify(config)], {
    env: { ...process.env, SESSIONMANAGER_DIST: dist },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (text) => {
    stderr += text;
  });
  const exited = new Promise((resolve) =>
    child.once("exit", (code, signal) => resolve(code ?? signal)),
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      process.kill(child.pid, "SIGKILL");
      reject(new Error(`${app}: not listening after ${START_TIMEOUT_MS} ms\n${stdout}${stderr}`));
    }, START_TIMEOUT_MS);
    child.stdout.setEncoding("utf8").on("data", (text) => {
      stdout += text;
      const url = LISTENING.exec(stdout)?.[1];
      if (!url) return;
      clearTimeout(timer);
      resolve({ app, url, pid: child.pid, stderr: () => stderr, stop: () => stop(child, exited) });
    });
    exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${app} exited (${code})\n${stdout}${stderr}`));
    });
  });
}

/** SIGTERM (the app closes its server and its Redis clients), SIGKILL if it hangs. */
async function stop(child, exited) {
  if (child.exitCode !== null || child.signalCode !== null) return exited;
  process.kill(child.pid, "SIGTERM");
  const timer = setTimeout(() => process.kill(child.pid, "SIGKILL"), STOP_TIMEOUT_MS);
  const code = await exited;
  clearTimeout(timer);
  return code;
}
