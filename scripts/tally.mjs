#!/usr/bin/env node
// The last line of CI (.ci/run): `tests: N passed, N failed`, summed over every report in
// test-results/*.json. Each is in the format of vitest's JSON reporter (numPassedTests,
// numFailedTests, testResults); .ci/run writes its own checks (size budgets, the demo) in the same
// format to test-results/ci.json. A missing vitest.json (`npm test` never reported) and a report
// that cannot be read each count as 1 failed, and so does a test file that failed without a
// failed test (it did not load, a hook threw). Each failure is named on a line of its own first.
//   node scripts/tally.mjs [folder]   (default: test-results)
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const dir = process.argv[2] ?? "test-results";
const files = existsSync(dir)
  ? readdirSync(dir)
      .filter((file) => file.endsWith(".json"))
      .sort()
  : [];
let passed = 0;
let failed = 0;
// What failed, named before the last line so that a CI log cut to its end still says which.
const failures = [];
if (!files.includes("vitest.json")) {
  console.error(`[ci] ${dir}/vitest.json is missing: counted as 1 failed`);
  failed += 1;
}
for (const file of files) {
  try {
    const report = JSON.parse(readFileSync(join(dir, file), "utf8"));
    const { numPassedTests: p, numFailedTests: f } = report;
    if (!Number.isInteger(p) || !Number.isInteger(f)) {
      throw new Error("no numPassedTests/numFailedTests");
    }
    passed += p;
    failed += f;
    for (const suite of report.testResults ?? []) {
      const failedTests = (suite.assertionResults ?? []).filter((t) => t.status === "failed");
      for (const test of failedTests) {
        failures.push(`${file}: ${suite.name} > ${test.fullName ?? test.title}`);
      }
      if (suite.status === "failed" && failedTests.length === 0) {
        failed += 1;
        failures.push(`${file}: ${suite.name} (the file failed without a failed test)`);
      }
    }
  } catch (error) {
    console.error(`[ci] ${dir}/${file} unreadable (${error.message}): counted as 1 failed`);
    failed += 1;
  }
}
for (const failure of failures) console.log(`[ci] FAILED ${failure}`);
console.log(`tests: ${passed} passed, ${failed} failed`);
