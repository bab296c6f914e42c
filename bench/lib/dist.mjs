// The built package the Node benchmarks measure: dist/, which their npm scripts build first, or
// SESSIONMANAGER_DIST, another build folder (to compare a change against a copy of the old dist/).
import { existsSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = process.env.SESSIONMANAGER_DIST
  ? pathToFileURL(`${process.env.SESSIONMANAGER_DIST.replace(/\/?$/, "/")}`)
  : new URL("../../dist/", import.meta.url);

/** The path of `file` (such as "index.js") in the build. */
export function distPath(file) {
  return fileURLToPath(new URL(file, root));
}

/** The path of `file` in the build; throws, saying how to build, if it is not there. */
export function built(file) {
  const path = distPath(file);
  if (!existsSync(path)) throw new Error(`${path} is missing: run \`npm run build\` first`);
  return path;
}

/** The module `file` of the build, imported. */
export function fromDist(file) {
  return import(pathToFileURL(built(file)).href);
}
