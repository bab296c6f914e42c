#!/usr/bin/env node
/// <reference types="node" />
// The `sessionmanager` command (the package's `bin`). Thin on purpose: the command itself is
// `main` in src/server/cli.ts, which tests run in-process.
import { main } from "./server/cli.ts";

// SIGINT (Ctrl-C) and SIGTERM (docker stop, systemd) close the server cleanly; a second one
// gets Node's default handling and ends the process at once.
const stop = new AbortController();
for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => stop.abort());

main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  signal: stop.signal,
}).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`sessionmanager: ${String(error)}\n`);
    process.exitCode = 1;
  },
);
