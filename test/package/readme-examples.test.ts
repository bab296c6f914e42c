// The README's first examples, run as a user pastes them into a Node script (an .mjs file that
// imports the built package), so that they stay correct: they print what they promise and end.
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { tempDir } from "../helpers/temp.ts";

const ENTRY = fileURLToPath(new URL("../../dist/index.js", import.meta.url));
const built = existsSync(ENTRY);
if (!built) {
  const message = "dist/index.js is missing: the README example tests are skipped (npm run build)";
  if (process.env.REQUIRE_SERVICES === "1") throw new Error(message);
  console.warn(`[vitest] WARNING: ${message}`);
}

/** The code blocks of the README before its first section ("## …"), in order. */
function firstPageExamples(): string[] {
  const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
  const firstPage = readme.slice(0, readme.indexOf("\n## "));
  return [...firstPage.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1] ?? "");
}

/** Runs `code` as a Node script with the package import pointed at dist/. */
async function runScript(code: string): Promise<{ stdout: string; ms: number }> {
  const dir = await tempDir("sm-readme-");
  const file = join(dir, "example.mjs");
  const source = code.replaceAll('"sessionmanager-js"', JSON.stringify(pathToFileURL(ENTRY).href));
  await writeFile(file, source);
  const started = Date.now();
  const { stdout } = await promisify(execFile)(process.execPath, [file], { timeout: 20_000 });
  return { stdout, ms: Date.now() - started };
}

describe.skipIf(!built)("the README's first page", () => {
  const [first, watch] = firstPageExamples();

  it("has the two examples this test runs", () => {
    expect(first).toContain("new SessionManager(");
    expect(watch).toContain("setInterval");
  });

  it("the first example prints the session it added, and the script ends", async () => {
    const { stdout } = await runScript(first ?? "");
    expect(stdout).toMatch(/id: 'user123'/);
    expect(stdout).toMatch(/data: \{ name: 'Ada' \}/);
    expect(stdout).toMatch(/ttl: 1800000/);
  });

  it("the second prints the warning, then the expiry, and ends once it expired", async () => {
    const { stdout, ms } = await runScript(watch ?? "");
    expect(stdout.trim().split("\n")).toEqual([
      expect.stringMatching(/^user123: \d+ ms left$/),
      "user123 expired",
    ]);
    expect(ms).toBeGreaterThanOrEqual(2900);
  });
});
