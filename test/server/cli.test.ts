import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { jwtVerify } from "jose";
import { describe, expect, it } from "vitest";
import { main, packageVersion, USAGE } from "../../src/server/cli.ts";
import { SECRET } from "../helpers/server.ts";
import { tempDir } from "../helpers/temp.ts";

const VERSION: string = JSON.parse(
  readFileSync(new URL("../../package.json", import.meta.url), "utf8"),
).version;
const BUILT_CLI = fileURLToPath(new URL("../../dist/cli.js", import.meta.url));
const built = existsSync(BUILT_CLI);
if (!built) {
  const message = "dist/cli.js is missing: the built command's tests are skipped (npm run build)";
  if (process.env.REQUIRE_SERVICES === "1") throw new Error(message);
  console.warn(`[vitest] WARNING: ${message}`);
}
const HINT = 'Run "sessionmanager --help" for usage.\n';

/** Runs the command in-process; `output()` is what it wrote so far. */
function run(argv: string[], env: Record<string, string> = {}, signal?: AbortSignal) {
  const out: string[] = [];
  const err: string[] = [];
  const io = {
    stdout: { write: (text: string) => out.push(text) },
    stderr: { write: (text: string) => err.push(text) },
    env,
    ...(signal && { signal }),
  };
  const code = main(argv, io);
  return { code, stdout: () => out.join(""), stderr: () => err.join("") };
}

async function until<T>(check: () => T | undefined, ms = 5000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe("sessionmanager --help and usage errors", () => {
  it("prints the usage on --help and exits 0", async () => {
    for (const argv of [["--help"], ["-h"], ["help"], ["serve", "--help"], ["token", "-h"]]) {
      const cli = run(argv);
      expect(await cli.code).toBe(0);
      expect(cli.stdout()).toBe(USAGE);
    }
  });

  it("prints the usage on stderr and exits 2 when called with no command", async () => {
    const cli = run([]);
    expect(await cli.code).toBe(2);
    expect(cli.stderr()).toBe(USAGE);
    expect(cli.stdout()).toBe("");
  });

  it("prints one line and where to find the usage, exit 2, for a usage error", async () => {
    const cases: [string[], RegExp][] = [
      [["launch"], /^sessionmanager: unknown command "launch"$/],
      [["serve", "--nope"], /^sessionmanager: .*'--nope'/],
      [["token", "--sub"], /^sessionmanager: .*'--sub <value>' argument missing/],
      [["serve", "extra"], /^sessionmanager: .*'extra'/],
      [["token", "--secret", SECRET], /^sessionmanager: token needs --sub <owner>$/],
    ];
    for (const [argv, line] of cases) {
      const cli = run(argv);
      expect(await cli.code, argv.join(" ")).toBe(2);
      const lines = cli.stderr().split("\n");
      expect(lines[0]).toMatch(line);
      expect(cli.stderr()).toBe(`${lines[0]}\n${HINT}`);
      expect(cli.stdout()).toBe("");
    }
  });

  it("prints the package's version on --version and -v, exit 0", async () => {
    for (const flag of ["--version", "-v"]) {
      const cli = run([flag]);
      expect(await cli.code).toBe(0);
      expect(cli.stdout()).toBe(`${VERSION}\n`);
      expect(cli.stderr()).toBe("");
    }
  });

  it("reads the version from the package.json of its own package, as installed", async () => {
    // node_modules/sessionmanager-js/dist/ inside a project that has its own package.json.
    const project = await tempDir("sm-version-");
    const pkg = join(project, "node_modules", "sessionmanager-js");
    await mkdir(join(pkg, "dist"), { recursive: true });
    await writeFile(join(project, "package.json"), '{"name":"app","version":"1.0.0"}');
    await writeFile(join(pkg, "package.json"), '{"name":"sessionmanager-js","version":"9.8.7"}');
    expect(packageVersion(pathToFileURL(join(pkg, "dist", "chunk-X.js")).href)).toBe("9.8.7");
    // A module of some other package is not ours: no version rather than the app's.
    expect(() => packageVersion(pathToFileURL(join(project, "src", "x.js")).href)).toThrow(
      /found no package.json of sessionmanager-js/,
    );
  });

  it.skipIf(!built)("the built command (dist/cli.js) prints the version", async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [BUILT_CLI, "--version"]);
    expect(stdout).toBe(`${VERSION}\n`);
    const failed = await promisify(execFile)(process.execPath, [BUILT_CLI, "serve", "--nope"]).then(
      () => undefined,
      (error: { code: number; stdout: string; stderr: string }) => error,
    );
    expect(failed?.code).toBe(2);
    expect(failed?.stderr).toMatch(/^sessionmanager: .*'--nope'.*\nRun "sessionmanager --help"/);
    expect(failed?.stdout).toBe("");
  });

  it("exits 2 with a clear error when serve has no secret or JWKS, or a bad option", async () => {
    const missing = run(["serve", "--backend", "memory"]);
    expect(await missing.code).toBe(2);
    expect(missing.stderr()).toContain(
      "serve needs --secret <secret> (or SESSIONMANAGER_SECRET) or --jwks <url>",
    );
    const both = run(["serve", "--secret", SECRET, "--jwks", "https://id.example/jwks"]);
    expect(await both.code).toBe(2);
    const weak = run(["serve", "--backend", "memory", "--secret", "short", "--port", "0"]);
    expect(await weak.code).toBe(2);
    expect(weak.stderr()).toContain("auth.secret must be at least 32 bytes");
    const port = run(["serve", "--secret", SECRET, "--port", "http"]);
    expect(await port.code).toBe(2);
    expect(port.stderr()).toContain("--port must be a number");
    const backend = run(["serve", "--backend", "nosuch", "--secret", SECRET, "--port", "0"]);
    expect(await backend.code).toBe(2);
    expect(backend.stderr()).toContain('unknown backend "nosuch"');
    const level = run(["serve", "--secret", SECRET, "--log-level", "loud"]);
    expect(await level.code).toBe(2);
  });
});

describe("sessionmanager token", () => {
  it("prints an HS256 JWT for --sub that the server's secret verifies", async () => {
    const cli = run([
      "token",
      "--sub",
      "alice",
      "--secret",
      SECRET,
      "--ttl",
      "2h",
      "--issuer",
      "me",
      "--audience",
      "api",
    ]);
    expect(await cli.code).toBe(0);
    const jwt = cli.stdout().trim();
    const { payload, protectedHeader } = await jwtVerify(jwt, new TextEncoder().encode(SECRET), {
      algorithms: ["HS256"],
      issuer: "me",
      audience: "api",
    });
    expect(protectedHeader.alg).toBe("HS256");
    expect(payload.sub).toBe("alice");
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(7200);
  });

  it("reads the secret from SESSIONMANAGER_SECRET and defaults to one hour", async () => {
    const cli = run(["token", "--sub", "bob"], { SESSIONMANAGER_SECRET: SECRET });
    expect(await cli.code).toBe(0);
    const { payload } = await jwtVerify(cli.stdout().trim(), new TextEncoder().encode(SECRET));
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(3600);
  });

  it("exits 2 without --sub or a secret, with a bad ttl or a weak secret", async () => {
    expect(await run(["token", "--secret", SECRET]).code).toBe(2);
    expect(await run(["token", "--sub", "alice"]).code).toBe(2);
    expect(await run(["token", "--sub", "alice", "--secret", SECRET, "--ttl", "soon"]).code).toBe(
      2,
    );
  });
});

describe("sessionmanager serve", () => {
  it("listens, prints where, logs requests at debug, and exits 0 when the signal comes", async () => {
    const stop = new AbortController();
    const argv = ["serve", "--backend", "memory", "--port", "0", "--log-level", "debug"];
    const cli = run(argv, { SESSIONMANAGER_SECRET: SECRET }, stop.signal);
    const url = await until(
      () => /listening on (http:\S+) \(backend memory\)/.exec(cli.stdout())?.[1],
    );
    expect(cli.stdout()).toMatch(
      /^sessionmanager server listening on http:\/\/127\.0\.0\.1:\d+ \(backend memory\)\n/,
    );

    const mint = run(["token", "--sub", "alice"], { SESSIONMANAGER_SECRET: SECRET });
    await mint.code;
    const bearer = mint.stdout().trim();
    const put = await fetch(`${url}/v1/sessions/user123`, {
      method: "PUT",
      headers: { authorization: `Bearer ${bearer}` },
      body: JSON.stringify({ data: { secret: "do-not-log" } }),
    });
    expect(put.status).toBe(201);
    await until(() => (cli.stdout().includes("PUT /v1/sessions/user… 201") ? true : undefined));
    expect(cli.stdout()).not.toContain("do-not-log");
    expect(cli.stdout()).not.toContain(bearer);

    stop.abort();
    expect(await cli.code).toBe(0);
    expect(cli.stdout()).toMatch(/sessionmanager server stopped\n$/);
    await expect(fetch(`${url}/v1/sessions`)).rejects.toThrow();
  });

  it("takes --cors, --base-path and --namespace", async () => {
    const stop = new AbortController();
    const argv = [
      "serve",
      "--backend",
      "memory",
      "--port",
      "0",
      "--secret",
      SECRET,
      "--cors",
      "https://a.example, https://b.example",
      "--base-path",
      "/api",
      "--namespace",
      "app",
    ];
    const cli = run(argv, {}, stop.signal);
    const url = await until(() => /listening on (http:\S+)/.exec(cli.stdout())?.[1]);
    const preflight = await fetch(`${url}/api/v1/sessions/a`, {
      method: "OPTIONS",
      headers: { origin: "https://b.example", "access-control-request-method": "PUT" },
    });
    expect(preflight.headers.get("access-control-allow-origin")).toBe("https://b.example");
    stop.abort();
    expect(await cli.code).toBe(0);
  });

  it("takes --health, --metrics (behind SESSIONMANAGER_METRICS_TOKEN) and --heartbeat", async () => {
    const stop = new AbortController();
    const metricsToken = "a-metrics-token-of-32-characters-or-more";
    const argv = ["serve", "--backend", "memory", "--port", "0", "--health", "--metrics"];
    const env = { SESSIONMANAGER_SECRET: SECRET, SESSIONMANAGER_METRICS_TOKEN: metricsToken };
    const cli = run([...argv, "--heartbeat", "50ms"], env, stop.signal);
    const url = await until(() => /listening on (http:\S+)/.exec(cli.stdout())?.[1]);
    expect((await fetch(`${url}/health`)).status).toBe(200);
    expect((await fetch(`${url}/metrics`)).status).toBe(401);
    const scrape = await fetch(`${url}/metrics`, {
      headers: { authorization: `Bearer ${metricsToken}` },
    });
    expect(scrape.status).toBe(200);
    expect(await scrape.text()).toContain("sessionmanager_requests_total");
    stop.abort();
    expect(await cli.code).toBe(0);
  });

  it("answers neither /health nor /metrics without their flags", async () => {
    const stop = new AbortController();
    const argv = ["serve", "--backend", "memory", "--port", "0"];
    const cli = run(argv, { SESSIONMANAGER_SECRET: SECRET }, stop.signal);
    const url = await until(() => /listening on (http:\S+)/.exec(cli.stdout())?.[1]);
    expect((await fetch(`${url}/health`)).status).toBe(404);
    expect((await fetch(`${url}/metrics`)).status).toBe(404);
    stop.abort();
    expect(await cli.code).toBe(0);
  });
});
