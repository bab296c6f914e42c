// vitest globalSetup of the consumer matrix: packs the repo once and installs the tarball into the
// scratch workspace; the tests find both through `inject`.
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { packTarball, prepareWorkspace, repoRoot } from "./workspace.ts";

declare module "vitest" {
  export interface ProvidedContext {
    workspace: string;
    tarball: string;
  }
}

/** Every file the package.json `exports` map names. */
function exportedFiles(): string[] {
  const files: string[] = [];
  const walk = (target: unknown): void => {
    if (typeof target === "string") files.push(target);
    else if (target && typeof target === "object") Object.values(target).forEach(walk);
  };
  walk(JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")).exports);
  return files;
}

export default function setup(project: TestProject): () => void {
  const started = Date.now();
  if (!existsSync(join(repoRoot, "dist", "index.js"))) {
    throw new Error("dist/ is missing: run `npm run build` (or `npm test`) before test:consumers");
  }
  // A build still under way (tsup writes the .d.ts files last) would pack a package that fails
  // in every app for no reason of its own.
  const missing = exportedFiles().filter((file) => !existsSync(join(repoRoot, file)));
  if (missing.length > 0) {
    throw new Error(
      `dist/ is incomplete (a build under way?): no ${missing.slice(0, 5).join(", ")}`,
    );
  }
  const packDir = mkdtempSync(join(tmpdir(), "sm-pack-"));
  const tarball = packTarball(packDir);
  const workspace = prepareWorkspace(tarball);
  console.log(
    `[consumers] packed and installed in ${((Date.now() - started) / 1000).toFixed(1)} s: ${workspace}`,
  );
  project.provide("workspace", workspace);
  project.provide("tarball", tarball);
  return () => rmSync(packDir, { recursive: true, force: true });
}
