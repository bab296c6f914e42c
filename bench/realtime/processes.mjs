// The child processes of the realtime bench: server processes (server.mjs, forked with
// `--expose-gc`) and the load generator (client.mjs), each spoken to over IPC, each stopped by its
// own pid at the end (SIGKILL after a grace period if it hangs).
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";

const SERVER = fileURLToPath(new URL("./server.mjs", import.meta.url));
const CLIENT = fileURLToPath(new URL("./client.mjs", import.meta.url));
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 15_000;

/** A forked child: `ask(message, replyType)` resolves to the next message of `replyType`. */
function wrap(child, name) {
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (text) => {
    stderr += text;
  });
  child.stdout?.resume();
  const exited = new Promise((resolve) =>
    child.once("exit", (code, signal) => resolve(code ?? signal)),
  );
  const next = (type, timeout) =>
    new Promise((resolve, reject) => {
      const onMessage = (message) => {
        if (message?.type === "error") done(() => reject(new Error(`${name}: ${message.message}`)));
        else if (message?.type === type) done(() => resolve(message));
      };
      const onExit = (code) => done(() => reject(new Error(`${name} exited (${code})\n${stderr}`)));
      const timer = setTimeout(
        () => done(() => reject(new Error(`${name}: no ${type} in ${timeout} ms\n${stderr}`))),
        timeout,
      );
      const done = (settle) => {
        clearTimeout(timer);
        child.off("message", onMessage);
        child.off("exit", onExit);
        settle();
      };
      child.on("message", onMessage);
      child.once("exit", onExit);
    });
  return {
    pid: child.pid,
    child,
    stderr: () => stderr,
    next,
    ask(message, type, timeout = 120_000) {
      const reply = next(type, timeout);
      child.send(message);
      return reply;
    },
    /** Asks the child to stop, and kills it by pid if it has not exited after the grace period. */
    async stop(ask = () => child.send({ type: "stop" })) {
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      if (child.connected) ask();
      else child.kill("SIGTERM");
      const timer = setTimeout(() => process.kill(child.pid, "SIGKILL"), STOP_TIMEOUT_MS);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** Starts a server process with `options` (serve's); resolves once it listens: `{ url, ... }`. */
export async function startServer(options, name) {
  const child = fork(SERVER, [JSON.stringify(options)], {
    execArgv: ["--expose-gc"],
    stdio: ["ignore", "pipe", "pipe", "ipc"],
  });
  const server = wrap(child, name);
  try {
    const { url } = await server.next("listening", START_TIMEOUT_MS);
    return { ...server, name, url };
  } catch (error) {
    await server.stop();
    throw error;
  }
}

/** Starts the load generator; resolves once it is ready for commands. */
export async function startClient() {
  const child = fork(CLIENT, [], { stdio: ["ignore", "pipe", "pipe", "ipc"] });
  const client = wrap(child, "load generator");
  await client.next("started", START_TIMEOUT_MS);
  // It exits when the channel closes.
  return { ...client, stop: () => client.stop(() => child.disconnect()) };
}
