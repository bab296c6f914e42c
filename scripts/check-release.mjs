#!/usr/bin/env node
// Before a release is published (.github/workflows/release.yml): the pushed tag `vX.Y.Z` must be
// package.json's version, and CHANGELOG.md must have a `## [X.Y.Z]` section for it, so that a tag
// on the wrong commit fails in seconds rather than after the tests.
// Usage: node scripts/check-release.mjs v1.2.3   (default: $GITHUB_REF_NAME), in the package folder.
import { readFileSync } from "node:fs";

const tag = process.argv[2] ?? process.env.GITHUB_REF_NAME ?? "";
const problems = [];
const version = /^v(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?)$/.exec(tag)?.[1];
if (!version) {
  problems.push(`the tag must be v<major>.<minor>.<patch>, got ${JSON.stringify(tag)}`);
} else {
  const declared = JSON.parse(readFileSync("package.json", "utf8")).version;
  if (declared !== version) problems.push(`tag ${tag}, but package.json says version ${declared}`);
  const changelog = readFileSync("CHANGELOG.md", "utf8");
  if (!changelog.split("\n").some((line) => line.startsWith(`## [${version}]`))) {
    problems.push(`CHANGELOG.md has no "## [${version}]" section (move [Unreleased] into it)`);
  }
}
for (const problem of problems) console.error(`::error::${problem}`);
if (problems.length > 0) process.exit(1);
console.log(`release ${tag}: package.json and CHANGELOG.md agree`);
