import { execFile } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BackendError } from "../../src/errors.ts";
import { driverClass, driverError } from "../../src/stores/driver.ts";

const repo = fileURLToPath(new URL("../..", import.meta.url));
const dist = join(repo, "dist");

/** The error a store throws when `load` (its import of `pkg`) fails, as the stores write it. */
async function failure(pkg: string, load: () => Promise<unknown>): Promise<BackendError> {
  try {
    await load();
  } catch (error) {
    const thrown = driverError("sqlite", pkg, error);
    expect(thrown).toBeInstanceOf(BackendError);
    expect(thrown.cause).toBe(error);
    return thrown;
  }
  throw new Error(`${pkg} loaded`);
}

/** An error as Node's ESM loader makes it (`import()` of a package that is not there). */
function esmNotFound(name: string, from: string): Error {
  return Object.assign(new Error(`Cannot find package '${name}' imported from ${from}`), {
    code: "ERR_MODULE_NOT_FOUND",
  });
}

describe("driverError", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "sm-driver-unit-"));
    // A driver that is installed but needs a package that is not.
    const driver = join(dir, "node_modules", "fake-driver");
    mkdirSync(driver, { recursive: true });
    writeFileSync(join(driver, "package.json"), '{"name":"fake-driver","main":"index.js"}');
    writeFileSync(join(driver, "index.js"), 'require("fake-driver-dependency");');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const requireHere = () => createRequire(join(dir, "app.js"));

  it("says what to install when the package itself is not found (ESM and CJS)", async () => {
    const absent = "sm-driver-not-installed";
    const error = await failure(absent, () => import(/* @vite-ignore */ absent));
    expect(error.message).toBe(
      `the sqlite store needs the "${absent}" package: npm install ${absent}`,
    );
    const esm = esmNotFound("pg", "/app/node_modules/sessionmanager-js/dist/stores/postgres.js");
    expect((await failure("pg", () => Promise.reject(esm))).message).toBe(
      'the sqlite store needs the "pg" package: npm install pg',
    );

    // Node's own error for a require() of a package that is not there.
    const cjs = await failure("fake-absent", async () => requireHere()("fake-absent"));
    expect(cjs.message).toBe(
      'the sqlite store needs the "fake-absent" package: npm install fake-absent',
    );
    expect((cjs.cause as { code?: string }).code).toBe("MODULE_NOT_FOUND");
  });

  it("reports an installed driver whose own dependency is missing with that error, not as absent", async () => {
    // Node's own error: it names the missing dependency, and the driver only in the require stack.
    const cjs = await failure("fake-driver", async () => requireHere()("fake-driver"));
    expect(cjs.message).toMatch(
      /^the sqlite store could not load "fake-driver" \(installed, but loading it failed: Cannot find module 'fake-driver-dependency'/,
    );
    expect(cjs.message).not.toContain("npm install");
    expect((cjs.cause as { code?: string }).code).toBe("MODULE_NOT_FOUND");

    const esm = esmNotFound("bindings", "/app/node_modules/better-sqlite3/lib/database.js");
    const error = await failure("better-sqlite3", () => Promise.reject(esm));
    expect(error.message).toBe(
      `the sqlite store could not load "better-sqlite3" (installed, but loading it failed: ${esm.message})`,
    );
    expect(error.cause).toBe(esm);
  });

  it("reports a driver that throws while loading (a native binding for another Node) with its error", async () => {
    const dlopen = Object.assign(
      new Error(
        "The module 'better_sqlite3.node' was compiled against a different Node.js version",
      ),
      { code: "ERR_DLOPEN_FAILED" },
    );
    const error = await failure("better-sqlite3", () => Promise.reject(dlopen));
    expect(error.message).toBe(
      `the sqlite store could not load "better-sqlite3" (installed, but loading it failed: ${dlopen.message})`,
    );
    expect(error.cause).toBe(dlopen);
  });
});

describe("driverClass", () => {
  it("returns the driver's class, and takes a bundler's empty stand-in for the package missing", () => {
    class Pool {}
    expect(driverClass("postgres", "pg", Pool)).toBe(Pool);
    const missing =
      'the postgres store needs the "pg" package: npm install pg, then build the app again (it was bundled without it)';
    // What webpack hands in for a package it did not find: a namespace with no exports (named
    // export undefined, `default` an empty object).
    for (const stub of [undefined, {}]) {
      expect(() => driverClass("postgres", "pg", stub)).toThrow(missing);
      // Thrown inside the store's `try`, it reaches the caller as it is.
      const error = new BackendError(missing);
      expect(driverError("postgres", "pg", error)).toBe(error);
    }
  });
});

const run = promisify(execFile);
const SECRET = "a-test-secret-of-at-least-32-bytes!!";

/**
 * The built package as an app installs it, in a folder of its own, beside a better-sqlite3 that
 * is broken in a given way (or absent), so that the real Node resolver loads that copy.
 */
function app(driver: "throws" | "dependency missing" | "absent"): string {
  const root = mkdtempSync(join(tmpdir(), "sm-driver-app-"));
  const modules = join(root, "node_modules");
  const own = join(modules, "sessionmanager-js");
  mkdirSync(own, { recursive: true });
  cpSync(join(repo, "package.json"), join(own, "package.json"));
  cpSync(dist, join(own, "dist"), { recursive: true });
  const pkg = JSON.parse(readFileSync(join(repo, "package.json"), "utf8")) as {
    dependencies: Record<string, string>;
  };
  for (const name of Object.keys(pkg.dependencies)) {
    mkdirSync(join(modules, name, ".."), { recursive: true });
    symlinkSync(join(repo, "node_modules", name), join(modules, name), "dir");
  }
  if (driver !== "absent") {
    const fake = join(modules, "better-sqlite3");
    mkdirSync(fake);
    writeFileSync(join(fake, "package.json"), '{"name":"better-sqlite3","main":"index.js"}');
    writeFileSync(
      join(fake, "index.js"),
      driver === "throws"
        ? 'throw new Error("The module better_sqlite3.node was compiled against a different Node.js version");'
        : 'require("bindings");',
    );
  }
  // The manager by name, as a route would use it: its error event and a call's rejection.
  const manager = `
    const sm = new SessionManager({ backend: "sqlite" });
    const errors = [];
    sm.on("error", (e) => errors.push(e.message));
    await sm.ready;
    const call = await sm.get("a").then(() => "resolved", (e) => e.message);`;
  writeFileSync(
    join(root, "app.mjs"),
    `import { SessionManager } from "sessionmanager-js";
    import { createSessionServer } from "sessionmanager-js/server";
    import { SignJWT } from "jose";
    ${manager}
    await sm.close();
    // The server on the same store: what it logs, and what the request gets.
    const logged = [];
    const log = (line) => logged.push(line);
    const server = createSessionServer({
      backend: "sqlite", auth: { secret: ${JSON.stringify(SECRET)} },
      logger: { debug: log, info: log, warn: log, error: log },
    });
    const token = await new SignJWT({ sub: "alice" }).setProtectedHeader({ alg: "HS256" })
      .setExpirationTime("5m").sign(new TextEncoder().encode(${JSON.stringify(SECRET)}));
    const response = await server.fetch(new Request("http://localhost/v1/sessions/a", {
      headers: { authorization: "Bearer " + token },
    }));
    const body = await response.json();
    await server.close();
    console.log(JSON.stringify({ errors, call, logged, status: response.status, body }));`,
  );
  writeFileSync(
    join(root, "app.cjs"),
    `const { SessionManager } = require("sessionmanager-js");
    (async () => {
      ${manager}
      await sm.close();
      console.log(JSON.stringify({ errors, call }));
    })();`,
  );
  return root;
}

interface Outcome {
  errors: string[];
  call: string;
  logged?: string[];
  status?: number;
  body?: { error: { code: string; message: string } };
}

/** `message` as the whole text, or after the store guard's `sqlite store failed: `. */
function ending(message: string): RegExp {
  return new RegExp(`^(sqlite store failed: )?${message.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`);
}

async function outcome(root: string, script: "app.mjs" | "app.cjs"): Promise<Outcome> {
  const { stdout } = await run(process.execPath, [script], { cwd: root, timeout: 20_000 });
  return JSON.parse(stdout) as Outcome;
}

/** These tests run the built package: `npm test` builds it first. */
function needDist(file: string): void {
  if (!existsSync(join(dist, file))) throw new Error(`dist/${file} is missing: run npm run build`);
}

describe("in a Node process, the built package beside a better-sqlite3 that", () => {
  beforeAll(() => needDist("stores/sqlite.js"));
  const roots: string[] = [];
  const made = (driver: Parameters<typeof app>[0]) => {
    const root = app(driver);
    roots.push(root);
    return root;
  };
  afterAll(() => {
    for (const root of roots) rmSync(root, { recursive: true, force: true });
  });

  it("throws while loading: the error event, a call and the server's log say it failed to load, and why", async () => {
    const root = made("throws");
    const loadFailed =
      'the sqlite store could not load "better-sqlite3" (installed, but loading it failed: The module better_sqlite3.node was compiled against a different Node.js version)';
    for (const script of ["app.mjs", "app.cjs"] as const) {
      const { errors, call } = await outcome(root, script);
      // The open's failure first; whatever the manager reports after it says why too. (The CJS
      // build may prefix "sqlite store failed: ", which says nothing about the driver.)
      expect(errors[0], script).toMatch(ending(loadFailed));
      expect(
        errors.every((error) => error.includes(loadFailed)),
        script,
      ).toBe(true);
      expect(call, script).toMatch(ending(`the sqlite store is not open: ${loadFailed}`));
    }
    const { logged, status, body } = await outcome(root, "app.mjs");
    expect(logged?.some((line) => line.includes(`the store failed: ${loadFailed}`))).toBe(true);
    expect(
      logged?.some((line) => /GET 503 .*is not open: the sqlite store could not load/.test(line)),
    ).toBe(true);
    // The response says which store failed, not the driver's message (it may hold paths).
    expect(status).toBe(503);
    expect(body?.error.code).toBe("BACKEND_UNAVAILABLE");
    expect(JSON.stringify(body)).not.toContain("better_sqlite3.node");
  }, 60_000);

  it("lacks a dependency of its own: reported as failing to load, never as not installed", async () => {
    const root = made("dependency missing");
    for (const script of ["app.mjs", "app.cjs"] as const) {
      const { errors, call } = await outcome(root, script);
      expect(errors[0], script).toMatch(
        /^(sqlite store failed: )?the sqlite store could not load "better-sqlite3" \(installed, but loading it failed: Cannot find module 'bindings'/,
      );
      expect(call, script).toMatch(
        /^(sqlite store failed: )?the sqlite store is not open: the sqlite store could not load/,
      );
      expect([...errors, call].join("\n"), script).not.toContain("npm install");
    }
  }, 60_000);

  it("is not there: says what to install", async () => {
    const root = made("absent");
    for (const script of ["app.mjs", "app.cjs"] as const) {
      const { errors, call } = await outcome(root, script);
      const install =
        'the sqlite store needs the "better-sqlite3" package: npm install better-sqlite3';
      expect(errors[0], script).toMatch(ending(install));
      expect(call, script).toMatch(ending(`the sqlite store is not open: ${install}`));
    }
  }, 60_000);
});

describe("the published declarations", () => {
  beforeAll(() => needDist("stores/sqlite.d.ts"));
  // A driver's module name in a .d.ts makes tsc (skipLibCheck: false) need that driver or its
  // @types package, which users of another store do not have.
  it("name no driver package", () => {
    const declarations = readdirSync(dist, { recursive: true, encoding: "utf8" }).filter((file) =>
      /\.d\.c?ts$/.test(file),
    );
    expect(declarations.length).toBeGreaterThan(10);
    const importing =
      /(?:from|import\()\s*['"](better-sqlite3|pg|ioredis|memjs|@hono\/node-server)['"]/;
    const offenders = declarations.filter((file) =>
      importing.test(readFileSync(join(dist, file), "utf8")),
    );
    expect(offenders).toEqual([]);
  });
});
