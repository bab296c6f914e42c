// vitest globalSetup of the consumer matrix: packs the repo once and installs the tarball into the
// scratch workspace; the tests find both through `inject`.
import { existsSync, mkdtempSync, rmSync } from "node:fs";
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

export default function setup(project: TestProject): () => void {
  const started = Date.now();
  if (!existsSync(join(repoRoot, "dist", "index.js"))) {
    throw new Error("dist/ is missing: run `npm run build` (or `npm test`) before test:consumers");
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
