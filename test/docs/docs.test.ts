// The documentation site (`npm run docs`): TypeDoc over every public entry with the guides of
// docs/guides/ in the same site (typedoc.config.mjs). Built once into a temporary folder with the
// project's own config, then checked: the build passed its validation (broken `{@link}`s and
// undocumented exports are errors there), every guide became a page, every export of every entry
// in package.json "exports" has an anchor on its module's page that leads to its documentation,
// and every relative link of the site and of the guides' Markdown reaches a file (and an anchor
// in it). No network.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { entries } from "../../scripts/entries.mjs";

const root = fileURLToPath(new URL("../..", import.meta.url));
const guidesDir = join(root, "docs/guides");
const typedoc = join(root, "node_modules/typedoc/bin/typedoc");
const pkgName: string = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).name;

/** The public entries: the import path users write, and the source TypeDoc documents. */
const publicEntries = entries.flatMap((entry) =>
  entry.export
    ? [
        {
          path: entry.export === "." ? pkgName : `${pkgName}/${entry.export.slice(2)}`,
          src: entry.src,
        },
      ]
    : [],
);

let out = "";
let build: { status: number | null; log: string };
let exported = new Map<string, string[]>();

beforeAll(() => {
  out = mkdtempSync(join(tmpdir(), "sessionmanager-docs-"));
  const run = spawnSync(process.execPath, [typedoc, "--out", out], {
    cwd: root,
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" },
  });
  build = { status: run.status, log: `${run.stdout}${run.stderr}` };
  exported = exportsOfEntries();
  // ~15 s of CPU; more on a machine busy with other test runs.
}, 180_000);

afterAll(() => {
  if (out) rmSync(out, { recursive: true, force: true });
});

/** Every file under `dir`, as paths relative to it. */
function walk(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)));
}

/** The guides' Markdown files, each with the title its front matter (or first heading) gives. */
function guides(): { file: string; title: string; text: string }[] {
  return readdirSync(guidesDir)
    .filter((name) => name.endsWith(".md"))
    .map((name) => {
      const text = readFileSync(join(guidesDir, name), "utf8");
      const title = /^title:\s*(.+)$/m.exec(text)?.[1] ?? /^# (.+)$/m.exec(text)?.[1] ?? "";
      return { file: name, title: title.trim().replace(/^"(.*)"$/, "$1"), text };
    });
}

/** The names each public entry exports, values and types alike, as TypeScript sees them. */
function exportsOfEntries(): Map<string, string[]> {
  const config = ts.getParsedCommandLineOfConfigFile(join(root, "tsconfig.json"), undefined, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
      throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n"));
    },
  });
  if (!config) throw new Error("tsconfig.json could not be read");
  const sources = publicEntries.map((entry) => join(root, entry.src));
  const program = ts.createProgram(sources, config.options);
  const checker = program.getTypeChecker();
  const names = new Map<string, string[]>();
  for (const entry of publicEntries) {
    const file = program.getSourceFile(join(root, entry.src));
    if (!file) throw new Error(`${entry.src} is not in the program`);
    const module = checker.getSymbolAtLocation(file);
    names.set(entry.path, module ? checker.getExportsOfModule(module).map((s) => s.name) : []);
  }
  return names;
}

/**
 * The type errors of the guides' TypeScript code blocks (```ts, ```tsx), each compiled as a module
 * of its own beside the guide, against the sources of the entries it imports. A block whose first
 * line is `// <name>.ts` is that module, which the other blocks may import.
 */
function snippetErrors(): string[] {
  const config = ts.getParsedCommandLineOfConfigFile(join(root, "tsconfig.json"), undefined, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: () => {},
  });
  if (!config) throw new Error("tsconfig.json could not be read");
  const files = new Map<string, string>();
  for (const guide of guides()) {
    let n = 0;
    for (const block of guide.text.matchAll(/```(tsx?)\n([\s\S]*?)```/g)) {
      const [, lang = "ts", code = ""] = block;
      const named = /^\/\/ ([\w-]+\.tsx?)\n/.exec(code)?.[1];
      const name = named ?? `${guide.file.replace(/\.md$/, "")}.snippet-${++n}.${lang}`;
      files.set(join(guidesDir, name), `${code}\nexport {};\n`);
    }
  }
  const paths = Object.fromEntries(
    publicEntries.map((entry) => [entry.path, [join(root, entry.src)]]),
  );
  const options: ts.CompilerOptions = {
    ...config.options,
    noEmit: true,
    jsx: ts.JsxEmit.ReactJSX,
    types: ["node"],
    isolatedDeclarations: false,
    declaration: false,
    paths,
  };
  const host = ts.createCompilerHost(options);
  const { fileExists, readFile, getSourceFile } = host;
  host.fileExists = (file) => files.has(file) || fileExists(file);
  host.readFile = (file) => files.get(file) ?? readFile(file);
  host.getSourceFile = (file, language, ...rest) => {
    const text = files.get(file);
    return text === undefined
      ? getSourceFile(file, language, ...rest)
      : ts.createSourceFile(file, text, language, true);
  };
  const program = ts.createProgram([...files.keys()], options, host);
  return [...files.keys()].flatMap((file) =>
    ts.getPreEmitDiagnostics(program, program.getSourceFile(file)).map((diagnostic) => {
      const where = diagnostic.file?.getLineAndCharacterOfPosition(diagnostic.start ?? 0);
      const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n");
      return `${relative(root, file)}:${(where?.line ?? 0) + 1}: ${message}`;
    }),
  );
}

/** TypeDoc's page of a module: `modules/<import path with "/" as "_">.html`. */
const modulePage = (path: string) => join(out, "modules", `${path.replaceAll("/", "_")}.html`);

const decode = (value: string) =>
  value.replaceAll("&amp;", "&").replaceAll("&quot;", '"').replaceAll("&#39;", "'");

/** The ids of an HTML page (or an SVG sprite), cached: anchors links may point at. */
const idsCache = new Map<string, Set<string>>();
function idsOf(file: string): Set<string> {
  let ids = idsCache.get(file);
  if (!ids) {
    const text = readFileSync(file, "utf8");
    ids = new Set([...text.matchAll(/\s(?:id|name)="([^"]*)"/g)].map((m) => decode(m[1] ?? "")));
    idsCache.set(file, ids);
  }
  return ids;
}

/** TypeDoc's hierarchy page is drawn by its script: its anchors are not in the HTML. */
const scripted = (file: string) => file === join(out, "hierarchy.html");

/** Where a link goes when it stays on this site; `undefined` for other sites and schemes. */
function localTarget(from: string, href: string): { file: string; hash: string } | undefined {
  if (/^[a-z][a-z0-9+.-]*:/i.test(href) || href.startsWith("//")) return undefined;
  const [path = "", hash = ""] = href.split("#", 2);
  const withoutQuery = path.split("?", 1)[0] ?? "";
  const file =
    withoutQuery === "" ? from : resolve(dirname(from), decodeURIComponent(withoutQuery));
  return { file, hash: decodeURIComponent(hash) };
}

/** The links of a page that lead nowhere: a missing file, or a missing anchor in an HTML page. */
function brokenLinks(file: string, links: string[]): string[] {
  const broken: string[] = [];
  for (const link of links) {
    const target = localTarget(file, link);
    if (!target) continue;
    if (!existsSync(target.file)) {
      broken.push(`${link} (no file ${relative(root, target.file)})`);
    } else if (target.hash && /\.(html|svg)$/.test(target.file) && !scripted(target.file)) {
      if (!idsOf(target.file).has(target.hash)) broken.push(`${link} (no anchor #${target.hash})`);
    }
  }
  return broken;
}

describe("docs site (typedoc.config.mjs)", () => {
  it("builds with no warning: no broken link, no undocumented export", () => {
    const problems = build.log.split("\n").filter((line) => /\[(warning|error)\]/.test(line));
    expect(problems, build.log).toEqual([]);
    expect(build.status, build.log).toBe(0);
    expect(existsSync(join(out, "index.html"))).toBe(true);
  });

  it("has a page for every guide in docs/guides", () => {
    const list = guides();
    expect(list.length).toBeGreaterThanOrEqual(9);
    const pages = existsSync(join(out, "documents"))
      ? readdirSync(join(out, "documents")).map((name) =>
          readFileSync(join(out, "documents", name), "utf8"),
        )
      : [];
    for (const guide of list) {
      expect(guide.title, `${guide.file} has no title`).not.toBe("");
      const titled = pages.filter((page) => page.includes(`<title>${guide.title} | `));
      expect(titled.length, `no page for docs/guides/${guide.file} ("${guide.title}")`).toBe(1);
    }
  });

  it("has an anchor for every export of every public entry, linked to its documentation", () => {
    const missing: string[] = [];
    // The entries are package.json's "exports" (but ./package.json), which check:entries keeps so.
    const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
    const subpaths = Object.keys(pkg.exports).filter((subpath) => subpath !== "./package.json");
    expect(publicEntries.map((entry) => entry.path)).toEqual(
      subpaths.map((subpath) => (subpath === "." ? pkgName : `${pkgName}/${subpath.slice(2)}`)),
    );
    expect([...exported.keys()]).toEqual(publicEntries.map((entry) => entry.path));
    for (const [path, names] of exported) {
      const page = modulePage(path);
      if (!existsSync(page)) {
        missing.push(`${path}: no page ${relative(out, page)}`);
        continue;
      }
      const html = readFileSync(page, "utf8");
      const ids = idsOf(page);
      for (const name of names) {
        const id = name.toLowerCase();
        if (!ids.has(id)) {
          missing.push(`${path}: no anchor #${id} for ${name}`);
          continue;
        }
        // The summary of that export names it, and its link (to its own page, or to the
        // page it is re-exported from) leads to a file of the site.
        const start = html.indexOf(`id="${id}"`);
        const summary = html.slice(start, html.indexOf("</dt>", start));
        const link = new RegExp(`<a href="([^"#]+)(?:#[^"]*)?"[^>]*>${name}</a>`).exec(summary);
        if (link?.[1] && !existsSync(resolve(dirname(page), decode(link[1])))) {
          missing.push(`${path}: ${name} links to a missing ${link[1]}`);
        }
      }
    }
    expect(missing).toEqual([]);
  });

  it("has no relative link in its HTML that leads nowhere", () => {
    const html = walk(out).filter((file) => file.endsWith(".html"));
    expect(html.length).toBeGreaterThan(50);
    const broken: string[] = [];
    for (const name of html) {
      const file = join(out, name);
      const text = readFileSync(file, "utf8");
      const links = [...text.matchAll(/\s(?:href|src)="([^"]*)"/g)].map((m) => decode(m[1] ?? ""));
      for (const problem of brokenLinks(file, links)) broken.push(`${name}: ${problem}`);
    }
    expect(broken).toEqual([]);
  });

  it("has guides whose TypeScript examples type-check against the API", () => {
    expect(snippetErrors()).toEqual([]);
  }, 120_000);

  it("has no relative link in the guides' Markdown (and the home page's) that leads nowhere", () => {
    const broken: string[] = [];
    const home = { file: "../index.md", text: readFileSync(join(root, "docs/index.md"), "utf8") };
    for (const guide of [...guides(), home]) {
      const file = join(guidesDir, guide.file);
      // Code blocks hold code, not links.
      const prose = guide.text.replace(/```[\s\S]*?```/g, "");
      const links = [...prose.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((m) => m[1] ?? "");
      // Anchors of Markdown headings are made by TypeDoc: checked in the HTML above.
      const files = links.map((link) => link.split("#", 1)[0] ?? "").filter((link) => link !== "");
      for (const problem of brokenLinks(file, files)) broken.push(`${guide.file}: ${problem}`);
    }
    expect(broken).toEqual([]);
  });
});
