// TypeScript users: every public entry of the installed package's "exports" map type-checks under
// strict with skipLibCheck: false, in node16 (ESM and CommonJS files) and bundler resolution, in a
// project that has no driver package and no @types for one.
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, inject, test } from "vitest";
import { expectNoNodeModulesAbove } from "./helpers.ts";
import { run } from "./workspace.ts";

const workspace = inject("workspace");
const tarball = inject("tarball");
const modules = join(workspace, "node_modules");
const tsc = join(modules, "typescript", "bin", "tsc");
const scratch = mkdtempSync(join(tmpdir(), "sm-tsc-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const drivers = ["better-sqlite3", "pg", "ioredis", "redis", "memjs"];
const driverTypes = ["@types/better-sqlite3", "@types/pg", "@types/ioredis", "@types/memjs"];
const frameworks = ["vue", "@types/react"];
// sessionmanager-js/express-session is typed by express-session's own types, as its users' apps
// are: @types/express-session (which needs @types/node, like any Express app's types).
const expressTypes = "@types/express-session";
const expressEntry = "sessionmanager-js/express-session";

const packageJson = (name: string, from = modules) =>
  JSON.parse(readFileSync(join(from, name, "package.json"), "utf8"));

/** The public entries, read from the installed tarball's package.json. */
function entries(): string[] {
  const { exports } = packageJson("sessionmanager-js");
  return Object.keys(exports)
    .filter((key) => key !== "./package.json")
    .map((key) => (key === "." ? "sessionmanager-js" : `sessionmanager-js/${key.slice(2)}`));
}

/** A package and, transitively, its dependencies: what the project links from the workspace. */
function dependencyClosure(names: string[], seen = new Set<string>()): Set<string> {
  for (const name of names) {
    if (seen.has(name) || !existsSync(join(modules, name))) continue;
    seen.add(name);
    dependencyClosure(Object.keys(packageJson(name).dependencies ?? {}), seen);
  }
  return seen;
}

/**
 * A project outside the workspace with only the package (unpacked from the tarball, so its own
 * imports resolve here and nowhere else), its dependencies and, unless `nodeTypes` is false,
 * @types/node: no driver, no driver types.
 */
function project(
  name: string,
  compilerOptions: object,
  files: Record<string, string>,
  nodeTypes = true,
): string {
  const dir = join(scratch, name);
  const own = join(dir, "node_modules", "sessionmanager-js");
  mkdirSync(own, { recursive: true });
  run("tar", ["-xzf", tarball, "-C", own, "--strip-components=1"], dir);
  // The framework entries need their framework's own types, and nothing else: Vue ships its
  // types, React's are @types/react.
  const deps = [
    ...Object.keys(packageJson("sessionmanager-js").dependencies ?? {}),
    ...frameworks,
    ...(nodeTypes ? [expressTypes] : []),
  ];
  for (const dep of new Set([...dependencyClosure(deps), ...(nodeTypes ? ["@types/node"] : [])])) {
    const link = join(dir, "node_modules", dep);
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync(realpathSync(join(modules, dep)), link, "dir");
  }
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name, private: true, type: "module" }));
  writeFileSync(
    join(dir, "tsconfig.json"),
    JSON.stringify({ compilerOptions, include: Object.keys(files) }),
  );
  for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, file), text);
  return dir;
}

/**
 * A file importing every entry as a namespace, so every declaration file is part of the program;
 * `page`: every entry a page's project (no Node types at all) can import, which leaves out the
 * express-session store (Express's types are Node's).
 */
function importEveryEntry(require: boolean, page = false): string {
  const chosen = entries().filter((entry) => !(page && entry === expressEntry));
  const lines = chosen.map((entry, i) =>
    require ? `import e${i} = require("${entry}");` : `import * as e${i} from "${entry}";`,
  );
  const all = chosen.map((_, i) => `e${i}`);
  return `${lines.join("\n")}\nexport const entries: unknown[] = [${all.join(", ")}];\n`;
}

const strict = { strict: true, skipLibCheck: false, noEmit: true, target: "es2022" };

describe("tsc 6 strict, skipLibCheck: false, no driver packages or their @types", () => {
  test.each([
    [
      "node16 (ESM and CommonJS files)",
      { ...strict, module: "node16", moduleResolution: "node16" },
      { "esm.mts": importEveryEntry(false), "cjs.cts": importEveryEntry(true) },
    ],
    [
      "bundler",
      { ...strict, module: "esnext", moduleResolution: "bundler" },
      { "index.ts": importEveryEntry(false) },
    ],
    [
      "bundler-dom (a page's project: lib dom, no @types at all, not even node; every entry but express-session)",
      {
        ...strict,
        module: "esnext",
        moduleResolution: "bundler",
        lib: ["es2022", "dom"],
        types: [],
      },
      { "index.ts": importEveryEntry(false, true) },
    ],
  ])("every public entry type-checks under %s", (mode, options, files) => {
    const name = mode.split(" ")[0] ?? mode;
    const dir = project(name, options, files, name !== "bundler-dom");
    expect(existsSync(join(dir, "node_modules", "@types", "node"))).toBe(name !== "bundler-dom");
    expectNoNodeModulesAbove(dir);
    for (const missing of [...drivers, ...driverTypes]) {
      expect(existsSync(join(dir, "node_modules", missing)), missing).toBe(false);
    }
    expect(entries().length).toBeGreaterThan(5);
    // tsc prints every error (TS7016, TS2307, …) with its file: all of it lands in the failure.
    run("node", [tsc, "-p", dir], dir);
  });
});
