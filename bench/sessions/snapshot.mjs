// The build under measure, copied once at the start: on a shared machine another `npm run build`
// can empty dist/ in the middle of a run (tsup cleans it first), which would fail the apps started
// after it, or measure a different build. The copy is a package of its own (package.json for the
// `#backends` import, node_modules linked), so every import of the apps resolves inside it.
import { cpSync, mkdtempSync, rmSync, statSync, symlinkSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { built, distPath } from "../lib/dist.mjs";

const root = fileURLToPath(new URL("../../", import.meta.url));

/**
 * Copies dist/ (or SESSIONMANAGER_DIST). Returns `{ dist, from, builtAt, remove() }`: dist the
 * copy's folder, from the original's, builtAt when its index.js was written.
 */
export function snapshotBuild() {
  for (const file of ["index.js", "backends/node.js"]) built(file);
  const builtAt = statSync(distPath("index.js")).mtime.toISOString();
  const dir = mkdtempSync(join(os.tmpdir(), "sessionmanager-sessbench-"));
  const dist = join(dir, "dist");
  cpSync(distPath("."), dist, { recursive: true });
  cpSync(join(root, "package.json"), join(dir, "package.json"));
  symlinkSync(join(root, "node_modules"), join(dir, "node_modules"), "dir");
  const remove = () => rmSync(dir, { recursive: true, force: true });
  return { dist, from: distPath("."), builtAt, remove };
}
