/// <reference types="node" />
// The `sessionmanager` command (src/cli.ts runs it). Everything it touches comes in through
// `io`, so tests run it in-process: output, the environment, and the signal that stops `serve`.
import { readFileSync } from "node:fs";
import { type ParseArgsConfig, parseArgs } from "node:util";
import { SignJWT } from "jose";
import { parseDuration } from "../duration.ts";
import { isSessionError, messageOf } from "../errors.ts";
import type { Logger, LogLevel } from "../log.ts";
import { checkBackend, type SessionServerAuth } from "./options.ts";
import { type ServeOptions, serve } from "./serve.ts";

/** Where the command writes, what it reads, and what stops a server it started. */
export interface CliIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  /** Default: none (`SESSIONMANAGER_SECRET` is read from here). */
  env?: Record<string, string | undefined>;
  /** Aborted on SIGINT or SIGTERM: `serve` closes and the command returns 0. */
  signal?: AbortSignal;
}

/** Exit codes: 0 done, 1 failed while running, 2 bad usage or options. */
export type ExitCode = 0 | 1 | 2;

export const USAGE = `Usage:
  sessionmanager serve [options]   serve the sessionmanager HTTP API
  sessionmanager token [options]   print a development token (HS256 JWT)
  sessionmanager --help            print this help
  sessionmanager --version         print the version

serve options:
  --backend <name>      memory | file | sqlite | postgres | redis | memcached (default sqlite)
  --path <file>         file or database path for file and sqlite (default sessions.db)
  --url <url>           connection URL for postgres, redis, memcached
  --cluster <nodes>     redis on a Redis Cluster: comma-separated host:port or
                        redis:// URLs of some of its nodes (instead of --url)
  --namespace <name>    keeps apps apart in a shared database (default sessionmanager)
  --port <n>            port to listen on (default 8787; 0 picks a free one)
  --host <addr>         address to listen on (default 127.0.0.1)
  --secret <secret>     HS256 secret of at least 32 bytes; SESSIONMANAGER_SECRET is
                        better (arguments show in the process list)
  --jwks <url>          check tokens against the issuer's JSON Web Key Set instead
  --issuer <iss>        required token issuer
  --audience <aud>      required token audience (required with --jwks)
  --any-audience        with --jwks: accept any audience (issuers whose tokens carry none)
  --max-token-age <dur> refuse tokens issued (iat) longer ago than this
  --cors <origins>      comma-separated origins that pages may call from
  --base-path <path>    mount the API under this path (default none)
  --default-ttl <dur>   ttl of sessions created without one (default 30m)
  --max-ttl <dur>       longest ttl a client may ask for (default 400d)
  --max-sessions-per-owner <n>
                        most live sessions one owner may have (default 1000)
  --heartbeat <dur>     how often idle event streams get a heartbeat (default 15s)
  --health              answer GET /health (200 while the store answers, else 503)
  --metrics             answer GET /metrics in the Prometheus text format; behind the
                        bearer token in SESSIONMANAGER_METRICS_TOKEN when it is set
  --log-level <level>   debug | info | warn | error | silent (default info)

token options:
  --sub <owner>         the owner of the sessions (required)
  --secret <secret>     the server's secret (or SESSIONMANAGER_SECRET)
  --ttl <dur>           lifetime of the token (default 1h)
  --issuer <iss>        issuer claim
  --audience <aud>      audience claim
`;

const SECRET_ENV = "SESSIONMANAGER_SECRET";
const METRICS_TOKEN_ENV = "SESSIONMANAGER_METRICS_TOKEN";
const PACKAGE_NAME = "sessionmanager-js";
// How far up from this module its package.json may be: src/server/ in a clone, dist/ once built
// (the module may sit in a chunk there), under node_modules/sessionmanager-js/ when installed.
const PACKAGE_DEPTH = 3;
const HELP_HINT = 'Run "sessionmanager --help" for usage.';
const DEFAULT_BACKEND = "sqlite";
const DEFAULT_PATH = "sessions.db";
const DEFAULT_TOKEN_TTL = "1h";
const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error", "silent"];
const MS_PER_S = 1000;
// As the server requires (RFC 7518 §3.2): a token it would never accept is no use.
const MIN_SECRET_BYTES = 32;

// The flags of both commands: the HS256 secret, and the claims tokens carry (token) or must
// carry (serve).
const tokenSharedFlags = {
  secret: { type: "string" },
  issuer: { type: "string" },
  audience: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

const serveFlags = {
  ...tokenSharedFlags,
  backend: { type: "string" },
  path: { type: "string" },
  url: { type: "string" },
  cluster: { type: "string" },
  namespace: { type: "string" },
  port: { type: "string" },
  host: { type: "string" },
  jwks: { type: "string" },
  "any-audience": { type: "boolean" },
  "max-token-age": { type: "string" },
  cors: { type: "string" },
  "base-path": { type: "string" },
  "default-ttl": { type: "string" },
  "max-ttl": { type: "string" },
  "max-sessions-per-owner": { type: "string" },
  heartbeat: { type: "string" },
  health: { type: "boolean" },
  metrics: { type: "boolean" },
  "log-level": { type: "string" },
} as const;

const tokenFlags = {
  ...tokenSharedFlags,
  sub: { type: "string" },
  ttl: { type: "string" },
} as const;

/** A mistake in how the command was called: reported with the usage, exit code 2. */
class UsageError extends Error {}

/**
 * Runs the command line `argv` (without `node` and the script) and resolves to the exit code.
 * @example
 * process.exitCode = await main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr });
 */
export async function main(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  const [command, ...rest] = argv;
  try {
    if (command === undefined || command === "--help" || command === "-h" || command === "help") {
      (command === undefined ? io.stderr : io.stdout).write(USAGE);
      return command === undefined ? 2 : 0;
    }
    if (command === "--version" || command === "-v") {
      io.stdout.write(`${packageVersion(import.meta.url)}\n`);
      return 0;
    }
    if (command === "serve") return await serveCommand(rest, io);
    if (command === "token") return await tokenCommand(rest, io);
    throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  } catch (error) {
    const usage = error instanceof UsageError || isParseArgsError(error);
    // A usage error gets one line and where to look, not the whole help: the mistake stays in view.
    io.stderr.write(`sessionmanager: ${messageOf(error)}\n`);
    if (usage) io.stderr.write(`${HELP_HINT}\n`);
    // Options the server refused (a weak secret, an unknown backend) are usage errors too.
    return usage || error instanceof TypeError || isSessionError(error) ? 2 : 1;
  }
}

async function serveCommand(args: string[], io: CliIo): Promise<ExitCode> {
  const values = flags(args, serveFlags);
  if (values.help) return help(io);
  const backend = values.backend ?? DEFAULT_BACKEND;
  const options: Omit<ServeOptions, "backend"> = {
    auth: serveAuth(values, io.env),
    ...optional("port", port(values.port)),
    logger: lineLogger(io),
    logLevel: logLevel(values["log-level"]),
    ...optional("path", values.path ?? (usesPath(backend) ? DEFAULT_PATH : undefined)),
    ...optional("url", values.url),
    ...optional("cluster", values.cluster),
    ...optional("namespace", values.namespace),
    ...optional("host", values.host),
    ...optional("basePath", values["base-path"]),
    ...optional("defaultTtl", duration(values["default-ttl"], "--default-ttl")),
    ...optional("maxTtl", duration(values["max-ttl"], "--max-ttl")),
    ...optional("maxSessionsPerOwner", count(values["max-sessions-per-owner"])),
    ...optional("cors", values.cors === undefined ? undefined : { origins: list(values.cors) }),
    ...optional("heartbeat", duration(values.heartbeat, "--heartbeat")),
    ...optional("health", values.health),
    ...optional("metrics", metrics(values.metrics, io.env)),
  };
  // As the server checks it, after the flags; an unknown name fails when the store is made.
  checkBackend(backend);
  const running = await serve({ backend, ...options });
  io.stdout.write(`sessionmanager server listening on ${running.url} (backend ${backend})\n`);
  await aborted(io.signal);
  await running.close();
  io.stdout.write("sessionmanager server stopped\n");
  return 0;
}

/** `--metrics`: on, behind the token in `SESSIONMANAGER_METRICS_TOKEN` when that is set. */
function metrics(
  on: boolean | undefined,
  env: CliIo["env"],
): boolean | { token: string } | undefined {
  if (!on) return undefined;
  const token = env?.[METRICS_TOKEN_ENV];
  return token ? { token } : true;
}

async function tokenCommand(args: string[], io: CliIo): Promise<ExitCode> {
  const values = flags(args, tokenFlags);
  if (values.help) return help(io);
  if (!values.sub) throw new UsageError("token needs --sub <owner>");
  const secret = values.secret ?? io.env?.[SECRET_ENV];
  if (!secret) throw new UsageError(`token needs --secret or ${SECRET_ENV}`);
  const key = new TextEncoder().encode(secret);
  if (key.byteLength < MIN_SECRET_BYTES) {
    throw new TypeError(
      `the secret must be at least ${MIN_SECRET_BYTES} bytes, got ${key.byteLength}`,
    );
  }
  const ttlMs = parseDuration(values.ttl ?? DEFAULT_TOKEN_TTL, "--ttl");
  const now = Math.floor(Date.now() / MS_PER_S);
  const jwt = new SignJWT({})
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(values.sub)
    .setIssuedAt(now)
    .setExpirationTime(now + Math.max(1, Math.round(ttlMs / MS_PER_S)));
  if (values.issuer !== undefined) jwt.setIssuer(values.issuer);
  if (values.audience !== undefined) jwt.setAudience(values.audience);
  io.stdout.write(`${await jwt.sign(key)}\n`);
  return 0;
}

function serveAuth(
  values: {
    secret?: string;
    jwks?: string;
    issuer?: string;
    audience?: string;
    "any-audience"?: boolean;
    "max-token-age"?: string;
  },
  env: CliIo["env"],
): SessionServerAuth {
  const secret = values.secret ?? env?.[SECRET_ENV];
  if (values.jwks !== undefined && values.secret !== undefined) {
    throw new UsageError("serve takes --secret or --jwks, not both");
  }
  const claims = {
    ...optional("issuer", values.issuer),
    ...optional("audience", values.audience),
    ...optional("anyAudience", values["any-audience"]),
    ...optional("maxTokenAge", duration(values["max-token-age"], "--max-token-age")),
  };
  if (values.jwks !== undefined) return { jwks: values.jwks, ...claims };
  if (secret) return { secret, ...claims };
  throw new UsageError(`serve needs --secret <secret> (or ${SECRET_ENV}) or --jwks <url>`);
}

function port(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (/^\d+$/.test(value) && n <= 65535) return n;
  throw new UsageError(`--port must be a number from 0 to 65535, got ${JSON.stringify(value)}`);
}

function count(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (/^\d{1,15}$/.test(value) && n >= 1) return n;
  throw new UsageError(
    `--max-sessions-per-owner must be a whole number from 1, got ${JSON.stringify(value)}`,
  );
}

function logLevel(value: string | undefined): LogLevel {
  if (value === undefined) return "info";
  const level = LOG_LEVELS.find((known) => known === value);
  if (level) return level;
  throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(", ")}, got ${value}`);
}

function duration(value: string | undefined, flag: string): number | undefined {
  // A bare number is milliseconds, as everywhere in the SDK.
  return value === undefined
    ? undefined
    : parseDuration(/^\d+$/.test(value) ? Number(value) : value, flag);
}

function list(value: string): string[] {
  return value
    .split(",")
    .map((item) => item.trim())
    .filter(Boolean);
}

function usesPath(backend: string): boolean {
  return backend === "sqlite" || backend === "file";
}

/** `{ [key]: value }`, or nothing when `value` is `undefined` (for exact optional properties). */
function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  const given: { [P in K]?: V } = {};
  if (value !== undefined) given[key] = value;
  return given;
}

/** The values of `args`, strictly: an unknown flag or a stray argument is a usage error. */
function flags<const T extends NonNullable<ParseArgsConfig["options"]>>(
  args: string[],
  options: T,
) {
  return parseArgs({ args, options, strict: true, allowPositionals: false }).values;
}

/** Log lines to the command's output: info and debug on stdout, warnings and errors on stderr. */
function lineLogger(io: CliIo): Logger {
  const line = (stream: CliIo["stdout"]) => (message: string) => {
    stream.write(`${new Date().toISOString()} ${message}\n`);
  };
  return {
    debug: line(io.stdout),
    info: line(io.stdout),
    warn: line(io.stderr),
    error: line(io.stderr),
  };
}

/**
 * The version in the package.json of the package `moduleUrl` belongs to, read when asked: the
 * nearest one above it named sessionmanager-js, wherever the package was installed or built.
 */
export function packageVersion(moduleUrl: string): string {
  let folder = new URL(".", moduleUrl);
  for (let depth = 0; depth < PACKAGE_DEPTH; depth++) {
    const manifest = readManifest(new URL("package.json", folder));
    if (manifest?.name === PACKAGE_NAME && typeof manifest.version === "string") {
      return manifest.version;
    }
    folder = new URL("..", folder);
  }
  throw new Error(`found no package.json of ${PACKAGE_NAME} above ${moduleUrl}`);
}

function readManifest(url: URL): { name?: unknown; version?: unknown } | undefined {
  try {
    return JSON.parse(readFileSync(url, "utf8"));
  } catch {
    return undefined; // none here (or not JSON): look further up
  }
}

function help(io: CliIo): ExitCode {
  io.stdout.write(USAGE);
  return 0;
}

function aborted(signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return new Promise(() => {});
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) =>
    signal.addEventListener("abort", () => resolve(), { once: true }),
  );
}

function isParseArgsError(error: unknown): boolean {
  if (typeof error !== "object" || error === null || !("code" in error)) return false;
  return typeof error.code === "string" && error.code.startsWith("ERR_PARSE_ARGS_");
}
