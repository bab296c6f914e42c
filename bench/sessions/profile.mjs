// `--profile <app>`: one app alone under `node --cpu-prof`, loaded as in the bench, then where its
// CPU time went (by package or area, and by function), to find what a slow read pays for.
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { table } from "../lib/table.mjs";
import { fmtInt } from "../lib/util.mjs";
import { summarizeProfile } from "../server/profile.mjs";
import { checkRead, drive, signIn } from "./load.mjs";
import { startApp } from "./processes.mjs";

/** Profiles `app` for `seconds` at `connections`, `sessions` signed-in cookies; prints tables. */
export async function profileApp({ app, config, dist, seconds, connections, sessions }) {
  const dir = mkdtempSync(join(os.tmpdir(), "sessionmanager-sessbench-profile-"));
  try {
    const server = await startApp(app, config, dist, ["--cpu-prof", "--cpu-prof-dir", dir]);
    let result;
    try {
      const cookies = await signIn(server.url, sessions);
      await checkRead(server.url, cookies[0]);
      result = await drive(server.url, { cookies, seconds, connections });
    } finally {
      await server.stop();
    }
    const file = readdirSync(dir).find((f) => f.endsWith(".cpuprofile"));
    if (!file) throw new Error(`${app} wrote no CPU profile`);
    const { total, areas, functions } = summarizeProfile(join(dir, file));
    const pct = (ms) => `${((ms / total) * 100).toFixed(1)}%`;
    const out = (title, list) =>
      table(
        title,
        ["", "ms", "share"],
        list.map(([name, ms]) => [name, fmtInt(ms), pct(ms)]),
      );
    console.log(
      `\n${app} under --cpu-prof: ${fmtInt(result.rps)} req/s, p99 ${result.p99} ms,` +
        ` ${result.non2xx + result.errors} failed; ${fmtInt(total)} ms busy (idle excluded)`,
    );
    console.log(
      out("self time by package / area (sessionmanager: the build and the bench's app)", areas),
    );
    console.log(out("self time by function (top 15)", functions));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
