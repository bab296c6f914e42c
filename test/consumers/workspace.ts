// The scratch workspace every consumer app lives in: one npm install for all of them, kept in a
// cache folder outside the repo and reused while the apps' package.json files stay the same.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot: string = fileURLToPath(new URL("../..", import.meta.url));
const templates = fileURLToPath(new URL("apps", import.meta.url));

/** Where the workspace lives: `SM_CONSUMERS_DIR`, or a cache folder in the home directory. */
export function workspaceDir(): string {
  return (
    process.env.SM_CONSUMERS_DIR ?? join(homedir(), ".cache", "sessionmanager-js", "consumers")
  );
}

/**
 * Stack frames of another process, without their "at": vitest would read them as frames of the
 * test and look for source maps of files the test has removed by then.
 */
export function unstack(text: string): string {
  return text.replace(/^(\s+)at /gm, "$1from ");
}

/** Runs a command, its output kept; a failure throws with the command and the end of its output. */
export function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): string {
  try {
    return execFileSync(cmd, args, {
      cwd,
      env: { ...process.env, ...env },
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (error) {
    const { stdout = "", stderr = "" } = error as { stdout?: string; stderr?: string };
    const output = `${stdout}\n${stderr}`.trim().split("\n").slice(-60).join("\n");
    throw new Error(unstack(`\`${cmd} ${args.join(" ")}\` failed in ${cwd}:\n${output}`));
  }
}

/** `npm pack` of the repo as it is (dist/ already built), into `dest`; returns the tarball's path. */
export function packTarball(dest: string): string {
  mkdirSync(dest, { recursive: true });
  const json = run(
    "npm",
    ["pack", "--ignore-scripts", "--json", "--pack-destination", dest],
    repoRoot,
  );
  const [{ filename }] = JSON.parse(json) as [{ filename: string }];
  return join(dest, filename);
}

const examples = join(repoRoot, "examples");

/**
 * Every app of the workspace by its folder name there, with where it comes from: the templates in
 * test/consumers/apps, and the repo's examples/ as `example-<name>`.
 */
function appSources(): [name: string, source: string][] {
  const apps = readdirSync(templates).map((app): [string, string] => [app, join(templates, app)]);
  const shown = existsSync(examples)
    ? readdirSync(examples).filter((name) => existsSync(join(examples, name, "package.json")))
    : [];
  for (const name of shown) apps.push([`example-${name}`, join(examples, name)]);
  return apps.sort(([a], [b]) => a.localeCompare(b));
}

const appNames = (): string[] => appSources().map(([name]) => name);

/**
 * An app's package.json as the workspace has it: an example names the repo (`file:../..`), and
 * gets the tarball instead, as the templates name it.
 */
function appManifest(source: string): string {
  const text = readFileSync(join(source, "package.json"), "utf8");
  if (!source.startsWith(examples)) return text;
  const manifest = JSON.parse(text);
  manifest.dependencies["sessionmanager-js"] = "file:../../sessionmanager-js.tgz";
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

/** Copies an app into the workspace, without what an install or a build left in its folder. */
function copyApp(source: string, target: string): void {
  const skip = new Set(["node_modules", "dist", "package-lock.json"].map((n) => join(source, n)));
  cpSync(source, target, { recursive: true, filter: (path) => !skip.has(path) });
  writeFileSync(join(target, "package.json"), appManifest(source));
}

/**
 * What the install depends on: the apps' package.json files, the package's own dependencies (the
 * tarball brings them in) and the repo's better-sqlite3. A change of any of them reinstalls.
 */
function installKey(): string {
  const hash = createHash("sha256");
  for (const [, source] of appSources()) hash.update(appManifest(source));
  const pkg = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8"));
  hash.update(JSON.stringify([pkg.dependencies, pkg.peerDependencies, betterSqliteVersion()]));
  return hash.digest("hex").slice(0, 16);
}

const repoBetterSqlite = join(repoRoot, "node_modules", "better-sqlite3");
function betterSqliteVersion(): string {
  return JSON.parse(readFileSync(join(repoBetterSqlite, "package.json"), "utf8")).version;
}

/**
 * Makes the workspace ready for this run and installs `tarball` into it: the first run (or one
 * after the apps' package.json files changed) runs `npm install` there, later ones only copy the
 * templates and the new tarball in. Returns the workspace's folder.
 */
export function prepareWorkspace(tarball: string): string {
  const ws = workspaceDir();
  const key = installKey();
  const stamp = join(ws, ".install-key");
  const fresh = !existsSync(stamp) || readFileSync(stamp, "utf8") !== key;
  if (fresh) rmSync(ws, { recursive: true, force: true });
  mkdirSync(ws, { recursive: true });
  // The apps name the tarball as `file:../../sessionmanager-js.tgz`, so no later `npm install`
  // there prunes it.
  cpSync(tarball, join(ws, "sessionmanager-js.tgz"));
  for (const [app, source] of appSources()) copyApp(source, join(ws, "apps", app));
  if (fresh) {
    const root = { name: "sessionmanager-js-consumers", private: true, workspaces: ["apps/*"] };
    writeFileSync(join(ws, "package.json"), `${JSON.stringify(root, null, 2)}\n`);
    // No install scripts: better-sqlite3 would compile for minutes, and the repo's copy is
    // compiled for this Node already. The frameworks' native parts come as prebuilt packages.
    run("npm", ["install", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"], ws);
  }
  installTarball(ws);
  copyCompiledBetterSqlite(ws);
  if (fresh) writeFileSync(stamp, key);
  return ws;
}

/**
 * npm keeps its lock entry for a `file:` tarball and would not unpack a changed one, so each run
 * unpacks the fresh tarball where npm installed the package, as npm itself does for a tarball.
 */
function installTarball(ws: string): void {
  const places = [
    join(ws, "node_modules"),
    ...appNames().map((a) => join(ws, "apps", a, "node_modules")),
  ]
    .map((dir) => join(dir, "sessionmanager-js"))
    .filter((dir) => existsSync(dir));
  if (places.length === 0) throw new Error(`npm did not install sessionmanager-js in ${ws}`);
  for (const dir of places) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    run("tar", ["-xzf", join(ws, "sessionmanager-js.tgz"), "-C", dir, "--strip-components=1"], ws);
  }
}

/**
 * The repo's better-sqlite3, compiled for this Node, copied over the uncompiled one npm put in
 * the workspace. A copy rather than a symlink: Next.js's and Nitro's file tracers copy real files.
 */
function copyCompiledBetterSqlite(ws: string): void {
  const target = join(ws, "node_modules", "better-sqlite3");
  const installed = JSON.parse(readFileSync(join(target, "package.json"), "utf8")).version;
  if (installed !== betterSqliteVersion()) {
    throw new Error(
      `the apps install better-sqlite3 ${installed}, the repo has ${betterSqliteVersion()}: ` +
        "update the version in test/consumers/apps/*/package.json",
    );
  }
  if (existsSync(join(target, "build", "Release", "better_sqlite3.node"))) return;
  cpSync(repoBetterSqlite, target, { recursive: true, dereference: true });
}
