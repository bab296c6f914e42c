// `npm pack` from a clean copy of the repo (its tracked files, no dist/) ships dist/: prepack builds.
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, expect, test } from "vitest";
import { repoRoot, run } from "./workspace.ts";

const scratch = mkdtempSync(join(tmpdir(), "sm-clean-pack-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Every file path a value of the exports map names (conditions nested at any depth). */
function exportedFiles(value: unknown): string[] {
  if (typeof value === "string") return [value.replace(/^\.\//, "")];
  return Object.values(value as object).flatMap(exportedFiles);
}

test("npm pack in a clean checkout (no dist/) builds first and ships dist/", () => {
  const tracked = run("git", ["ls-files", "-z"], repoRoot).split("\0").filter(Boolean);
  for (const file of tracked) {
    if (file.startsWith("dist/") || !existsSync(join(repoRoot, file))) continue;
    mkdirSync(dirname(join(scratch, file)), { recursive: true });
    cpSync(join(repoRoot, file), join(scratch, file));
  }
  expect(existsSync(join(scratch, "dist"))).toBe(false);
  symlinkSync(join(repoRoot, "node_modules"), join(scratch, "node_modules"), "dir");

  const json = run("npm", ["pack", "--dry-run", "--json"], scratch);
  // npm prints the prepack script's output before the JSON report.
  const [{ files }] = JSON.parse(json.slice(json.indexOf("[\n"))) as [
    { files: { path: string }[] },
  ];
  const shipped = new Set(files.map((file) => file.path));
  const pkg = JSON.parse(readFileSync(join(scratch, "package.json"), "utf8"));
  const wanted = [...exportedFiles(pkg.exports), pkg.main, pkg.module, pkg.types, pkg.unpkg]
    .concat(Object.values(pkg.bin ?? {}) as string[])
    .map((file: string) => file.replace(/^\.\//, ""))
    .filter((file) => file !== "package.json");
  expect(wanted.filter((file) => !shipped.has(file))).toEqual([]);
});
