// scripts/check-release.mjs, which the release workflow runs before it tests and publishes: a tag
// is released only when package.json and CHANGELOG.md agree with it.
import { spawnSync } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir } from "../helpers/temp.ts";

const script = resolve("scripts/check-release.mjs");

async function check(tag: string, version: string, changelog: string) {
  const dir = await tempDir("sm-release-");
  await writeFile(join(dir, "package.json"), JSON.stringify({ name: "x", version }));
  await writeFile(join(dir, "CHANGELOG.md"), changelog);
  const run = spawnSync(process.execPath, [script, tag], { cwd: dir, encoding: "utf8" });
  return { status: run.status, output: run.stdout + run.stderr };
}

const changelog = "# Changelog\n\n## [Unreleased]\n\n## [1.2.0] - 2026-12-04\n\n- Added things.\n";

describe("the release check", () => {
  it("passes a tag that package.json and CHANGELOG.md both name", async () => {
    expect(await check("v1.2.0", "1.2.0", changelog)).toMatchObject({ status: 0 });
  });

  it("refuses a tag package.json does not declare", async () => {
    const { status, output } = await check("v1.2.1", "1.2.0", changelog);
    expect(status).toBe(1);
    expect(output).toContain("tag v1.2.1, but package.json says version 1.2.0");
  });

  it("refuses a version without its CHANGELOG section", async () => {
    const { status, output } = await check("v1.3.0", "1.3.0", changelog);
    expect(status).toBe(1);
    expect(output).toContain('CHANGELOG.md has no "## [1.3.0]" section');
  });

  it("refuses a tag that is not a version", async () => {
    const { status, output } = await check("release-1", "1.2.0", changelog);
    expect(status).toBe(1);
    expect(output).toContain('the tag must be v<major>.<minor>.<patch>, got "release-1"');
  });
});
