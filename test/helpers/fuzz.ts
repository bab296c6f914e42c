// A model-based fuzz of the HTTP API (issue 11): random sequences of PUT, touch, DELETE, GET, the
// list (followed page by page), changes, clear, races on one session and 1 ms expiries, by two or
// three owners, against one server per run (a fresh namespace each time), each answer checked
// against a model of what every owner should have: the status, the error code, the session
// (version, data, times), the list, the changes, the quota; never a 5xx, never another owner's
// session. Bad input (ids, ttls, data too deep or too big, preconditions, page cursors, tokens)
// must be a 4xx that changes nothing. fast-check's `fc.commands` draws the sequences,
// `fc.asyncModelRun` plays them and shrinks a failure to a short one, printed with its seed and
// path. Environment: FUZZ_SEED and FUZZ_PATH replay a run, FUZZ_RUNS widens it, FUZZ_STATS=1
// prints the statuses seen. What it found (B1-B4, all fixed) is reproduced in the fuzz's tests.
import fc from "fast-check";
import { expect } from "vitest";
import {
  createSessionServer,
  type SessionServer,
  type SessionServerOptions,
  serve,
} from "../../src/server/index.ts";
import { SECRET, token } from "./server.ts";
import { runId } from "./services.ts";

/** A session as the API sends it, as the model expects it. */
export interface ModelSession {
  id: string;
  data: unknown;
  createdAt: number;
  updatedAt: number;
  expiresAt: number;
  ttl: number;
  version: number;
  /** `data` is a JWE the client sealed. */
  encrypted?: true;
}

/**
 * What each owner should have, by owner then id; each owner's last changes cursor; and the most
 * live sessions an owner may have (the server's `maxSessionsPerOwner`).
 */
export interface Model {
  readonly owners: readonly string[];
  readonly quota: number;
  readonly sessions: Map<string, Map<string, ModelSession>>;
  readonly cursors: Map<string, number>;
  /** Each owner's last change-log cursor (`log` or `cursor` of a change-log answer). */
  readonly logs: Map<string, string>;
  /** Per owner, the version of each record that expired and may still be stored. */
  readonly expired: Map<string, Map<string, number>>;
  /** Whether the server sweeps (then an expired record may be gone, or not yet). */
  readonly sweeps: boolean;
}

/** One answer of the server. */
interface Reply {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: answers are read by path and checked against the model.
  body: any;
}

/** The server under test, as the commands reach it. */
export interface Real {
  readonly server: SessionServer;
  /** Bearer tokens by owner (and by the bad `sub`s of `BadToken`). */
  readonly tokens: Map<string, string>;
  /** Lines the server logged at `error` (its 5xx causes), shown when a check fails. */
  readonly errors: string[];
}

type Command = fc.AsyncCommand<Model, Real>;

const HOUR = 3_600_000;
const MAX_TTL = 400 * 24 * HOUR;
// The server's default ttl (30 minutes): long enough for any run.
const DEFAULT_TTL = 30 * 60_000;
// Data at most this deep is taken; deeper is 400 INVALID_DATA (DESIGN.md's protocol limit).
const MAX_DEPTH = 64;

/**
 * Ids every backend must hold, as `encodeURIComponent` sends them: characters that mean something
 * to a URL, a key schema or SQL (`:`, `/`, `%`, spaces), unicode (one and two UTF-16 units each),
 * one id a prefix of another, and 256 characters (512 and 1,024 bytes in UTF-8).
 */
export const VALID_IDS: readonly string[] = [
  "s1",
  "s10",
  "user123",
  "a:b",
  ":",
  "a/b",
  "/",
  "%2F",
  "100%",
  "with space",
  " ",
  "?q=1&r#h",
  "{s1}",
  "ü名🎉",
  "tab\tnew\nline",
  "é".repeat(256),
  "😀".repeat(128),
];

/**
 * Ids the server must refuse with a 4xx and no change: empty (no such route), 257 characters,
 * U+0000 (DESIGN.md: ids never hold it), "." and ".." (URLs drop them as path segments: B2).
 * Lone surrogates cannot travel in a URL (encodeURIComponent throws, the URL parser makes them
 * U+FFFD): the bad-token command sends them as a token's `sub`.
 */
export const INVALID_IDS: readonly string[] = [
  "",
  "x".repeat(257),
  "a\u0000b",
  "\u0000",
  ".",
  "..",
];

/**
 * Owners (token `sub`s): some are each other's prefixes, escaped or not, or hold what key schemas
 * use as separators and Redis as hash tags.
 */
export const OWNERS: readonly string[] = ["alice", "a", "a/b", "a%2Fb", "ü 名:%", "{a}:b", "bob"];

/** `sub`s no server may accept: empty, U+0000, lone surrogates (DESIGN.md's rule for ids). */
const BAD_SUBS: readonly string[] = ["", "a\u0000b", "\uD800", "x\uDC00y"];

const isValid = (id: string) => VALID_IDS.includes(id);
const show = (value: unknown) => {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...(${text.length})` : text;
};

// ---------------------------------------------------------------------------------------------
// Requests

/** Sends one request as `owner` (a bearer token from `real.tokens`) to the server in process. */
async function send(
  real: Real,
  owner: string,
  method: string,
  path: string,
  options: { body?: unknown; headers?: Record<string, string> } = {},
): Promise<Reply> {
  const headers = new Headers(options.headers);
  const bearer = real.tokens.get(owner);
  if (bearer !== undefined) headers.set("authorization", `Bearer ${bearer}`);
  const init: RequestInit = { method, headers };
  const body = options.body === undefined ? undefined : JSON.stringify(options.body);
  if (body !== undefined) {
    init.body = body;
    headers.set("content-type", "application/json");
  }
  const errorsBefore = real.errors.length;
  const response = await real.server.fetch(new Request(`http://fuzz.test${path}`, init));
  if (STATS) {
    const key = `${method} ${path.split("?")[0]?.replace(/\/v1\/sessions\/.*?(\/touch)?$/, "/v1/sessions/:id$1")} ${response.status}`;
    STATS.set(key, (STATS.get(key) ?? 0) + 1);
  }
  const text = await response.text();
  const reply: Reply = { status: response.status, headers: response.headers, body: undefined };
  try {
    reply.body = text ? JSON.parse(text) : undefined;
  } catch {
    throw new Error(`${method} ${path}: ${response.status} with a body that is not JSON: ${text}`);
  }
  // Never a 5xx, whatever was sent (the server's log says why, if it logged).
  if (reply.status >= 500) {
    const logged = real.errors.slice(errorsBefore).join("\n");
    throw new Error(`${method} ${show(path)} answered ${reply.status} ${text}\n${logged}`);
  }
  expect(response.headers.get("x-sessionmanager-time"), "the server clock header").toMatch(/^\d+$/);
  return reply;
}

const sessionPath = (id: string) => `/v1/sessions/${encodeURIComponent(id)}`;

/** Expects an error answer with this status and code (`code` undefined: any code). */
function expectError(reply: Reply, status: number, code?: string): void {
  expect(reply.status, show(reply.body)).toBe(status);
  expect(typeof reply.body?.error?.message).toBe("string");
  if (code !== undefined) expect(reply.body.error.code).toBe(code);
}

/** Expects a refusal of bad input: a 4xx with an error body. */
function expectRefused(reply: Reply, why: string): void {
  expect(reply.status, `${why}: ${show(reply.body)}`).toBeGreaterThanOrEqual(400);
  expect(reply.status, `${why}: ${show(reply.body)}`).toBeLessThan(500);
  expect(typeof reply.body?.error?.code).toBe("string");
}

/** Expects a single-session answer equal to `session`, with its ETag. */
function expectSession(reply: Reply, status: number, session: ModelSession): void {
  expect(reply.status, show(reply.body)).toBe(status);
  expect(reply.body.session).toEqual(session);
  expect(reply.headers.get("etag")).toBe(`"${session.version}"`);
}

// ---------------------------------------------------------------------------------------------
// The model

export function emptyModel(owners: readonly string[], quota: number, sweeps = false): Model {
  return {
    owners,
    quota,
    sweeps,
    expired: new Map(owners.map((owner) => [owner, new Map()])),
    sessions: new Map(owners.map((owner) => [owner, new Map()])),
    cursors: new Map(),
    logs: new Map(),
  };
}

function expiredOf(model: Readonly<Model>, owner: string): Map<string, number> {
  const expired = model.expired.get(owner);
  if (!expired) throw new Error(`no owner ${owner} in the model`);
  return expired;
}

function sessionsOf(model: Model, owner: string): Map<string, ModelSession> {
  const sessions = model.sessions.get(owner);
  if (!sessions) throw new Error(`no owner ${owner} in the model`);
  return sessions;
}

/** The owner's session of `id`, if live (sessions whose expiresAt has passed are forgotten). */
function liveOf(model: Model, owner: string, id: string): ModelSession | undefined {
  const sessions = sessionsOf(model, owner);
  const session = sessions.get(id);
  if (session && session.expiresAt <= Date.now()) {
    sessions.delete(id);
    return undefined;
  }
  return session;
}

/**
 * Checks the version of a session `id` just created and returns it: 1, or the version after an
 * expired record still stored under the id (a version is never used twice for an id, so that
 * writes conditioned on the expired one cannot land twice: B3); when the server sweeps, that
 * record may be gone already (1).
 */
function expectCreatedVersion(model: Model, owner: string, id: string, version: number): number {
  const expired = expiredOf(model, owner).get(id);
  const allowed = expired === undefined ? [1] : model.sweeps ? [expired + 1, 1] : [expired + 1];
  expect(allowed, `the version of a new session ${show(id)}`).toContain(version);
  return version;
}

/** Whether a create by `owner` is over the quota: it has as many live sessions as allowed. */
const overQuota = (model: Model, owner: string) => liveSessions(model, owner).length >= model.quota;

function liveSessions(model: Model, owner: string): ModelSession[] {
  const sessions = sessionsOf(model, owner);
  for (const id of [...sessions.keys()]) liveOf(model, owner, id);
  return [...sessions.values()];
}

const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
/** What the server stores of `data`: its JSON. */
const asJson = (data: unknown): unknown =>
  data === undefined ? null : JSON.parse(JSON.stringify(data));

/** Follows `next` until the owner's list is complete; `limit` per page when given. */
async function listAll(real: Real, owner: string, limit?: number): Promise<ModelSession[]> {
  const sessions: ModelSession[] = [];
  const cursors = new Set<string>();
  let next: string | undefined;
  for (let page = 0; ; page++) {
    const query = new URLSearchParams();
    if (limit !== undefined) query.set("limit", String(limit));
    if (next !== undefined) query.set("next", next);
    const path = `/v1/sessions${query.size ? `?${query}` : ""}`;
    const reply = await send(real, owner, "GET", path);
    expect(reply.status, show(reply.body)).toBe(200);
    expect(Array.isArray(reply.body.sessions)).toBe(true);
    if (limit !== undefined) expect(reply.body.sessions.length).toBeLessThanOrEqual(limit);
    sessions.push(...reply.body.sessions);
    next = reply.body.next;
    if (next === undefined || next === null) break;
    expect(typeof next).toBe("string");
    expect(cursors.has(next), "a page cursor repeats").toBe(false);
    cursors.add(next);
    expect(page, "more pages than sessions").toBeLessThan(VALID_IDS.length + 2);
  }
  return sessions;
}

/** The owner's list, every page of it, equals the model's live sessions. */
async function expectList(model: Model, real: Real, owner: string, limit?: number) {
  const listed = await listAll(real, owner, limit);
  const ids = listed.map((s) => s.id);
  expect(new Set(ids).size, `duplicates in ${show(ids)}`).toBe(ids.length);
  expect([...listed].sort(byId)).toEqual(liveSessions(model, owner).sort(byId));
}

// ---------------------------------------------------------------------------------------------
// Commands

/** How a write is conditioned. `right`/`wrong` are versions taken from the model at run time. */
type Condition =
  | { kind: "none" }
  | { kind: "create" }
  | { kind: "right" }
  | { kind: "wrong"; delta: number }
  | { kind: "any" }
  | { kind: "malformed"; header: string; value: string };

const conditionArb = (create: boolean): fc.Arbitrary<Condition> =>
  fc.oneof(
    { arbitrary: fc.constant<Condition>({ kind: "none" }), weight: 8 },
    ...(create ? [{ arbitrary: fc.constant<Condition>({ kind: "create" }), weight: 3 }] : []),
    { arbitrary: fc.constant<Condition>({ kind: "right" }), weight: 4 },
    {
      arbitrary: fc
        .integer({ min: -2, max: 3 })
        .filter((d) => d !== 0)
        .map((delta): Condition => ({ kind: "wrong", delta })),
      weight: 2,
    },
    { arbitrary: fc.constant<Condition>({ kind: "any" }), weight: 1 },
    {
      arbitrary: fc
        .constantFrom(
          { header: "if-match", value: "2" },
          { header: "if-match", value: '"-1"' },
          { header: "if-match", value: 'W/"1"' },
          { header: "if-none-match", value: '"1"' },
        )
        .map((h): Condition => ({ kind: "malformed", ...h })),
      weight: 1,
    },
  );

/** The headers of `condition`, with versions taken from `current` (1 when there is none). */
function conditionHeaders(condition: Condition, current: ModelSession | undefined) {
  switch (condition.kind) {
    case "none":
      return {};
    case "create":
      return { "if-none-match": "*" };
    case "right":
      return { "if-match": `"${current?.version ?? 1}"` };
    case "wrong":
      return { "if-match": `"${Math.max(0, (current?.version ?? 1) + condition.delta)}"` };
    case "any":
      return { "if-match": "*" };
    case "malformed":
      return { [condition.header]: condition.value };
  }
}

/**
 * What a condition allows on `current`: `ok`, or the error the server must answer (`precondition`:
 * 412 with the current session, if any).
 */
function conditionOutcome(
  condition: Condition,
  current: ModelSession | undefined,
): "ok" | "exists" | "precondition" | "malformed" {
  switch (condition.kind) {
    case "none":
      return "ok";
    case "create":
      return current ? "exists" : "ok";
    case "right":
    case "any":
      return current ? "ok" : "precondition";
    case "wrong":
      // `current.version + delta` may come out at the right version only when clamped at 0.
      return current && Math.max(0, current.version + condition.delta) === current.version
        ? "ok"
        : "precondition";
    case "malformed":
      return "malformed";
  }
}

/** Checks the answer of a refused condition; true when the request was refused. */
function expectConditionRefusal(
  outcome: ReturnType<typeof conditionOutcome>,
  reply: Reply,
  current: ModelSession | undefined,
): boolean {
  if (outcome === "ok") return false;
  if (outcome === "malformed") expectError(reply, 400, "BAD_REQUEST");
  if (outcome === "exists") {
    expectError(reply, 409, "SESSION_EXISTS");
    expect(reply.body.session).toBeUndefined();
  }
  if (outcome === "precondition") {
    expectError(reply, 412, "CONFLICT");
    expect(reply.body.session).toEqual(current);
  }
  return true;
}

/** How a PUT sets the expiry: a ttl (ms or a Duration string), an `expiresAt`, or the default. */
type Expiry =
  | { kind: "default" }
  | { kind: "ttl"; ttl: number | string; ms: number }
  | { kind: "expiresAt"; inMs: number }
  | { kind: "bad"; body: Record<string, unknown> };

const expiryArb: fc.Arbitrary<Expiry> = fc.oneof(
  { arbitrary: fc.constant<Expiry>({ kind: "default" }), weight: 4 },
  {
    arbitrary: fc
      .integer({ min: 1, max: 48 })
      .chain((hours) =>
        fc.constantFrom<Expiry>(
          { kind: "ttl", ttl: hours * HOUR, ms: hours * HOUR },
          { kind: "ttl", ttl: `${hours}h`, ms: hours * HOUR },
        ),
      ),
    weight: 4,
  },
  // Past the server's maxTtl (400 days by default): capped to it.
  {
    arbitrary: fc.constantFrom<Expiry>(
      { kind: "ttl", ttl: "1000d", ms: MAX_TTL },
      { kind: "ttl", ttl: 8.64e15, ms: MAX_TTL },
    ),
    weight: 1,
  },
  {
    arbitrary: fc
      .integer({ min: 1, max: 48 })
      .map((hours): Expiry => ({ kind: "expiresAt", inMs: hours * HOUR })),
    weight: 1,
  },
  {
    arbitrary: fc
      .constantFrom<Record<string, unknown>>(
        { ttl: 0 },
        { ttl: -10 },
        { ttl: "soon" },
        { ttl: null },
        { expiresAt: 1000 },
        { expiresAt: "tomorrow" },
      )
      .map((body): Expiry => ({ kind: "bad", body })),
    weight: 1,
  },
);

/**
 * Strings that stores and JSON encoders get wrong: NUL, lone surrogates (JSON.stringify writes
 * them as `\ud800` escapes, and JSON.parse reads them back), non-ASCII, quotes.
 */
const trickyUnit = () =>
  fc.oneof(
    {
      arbitrary: fc.constantFrom("\u0000", "é", "😀", '"', "\\", "'", "\uD800", "\uDFFF"),
      weight: 1,
    },
    { arbitrary: fc.string({ unit: "binary", minLength: 1, maxLength: 1 }), weight: 2 },
    { arbitrary: fc.string({ minLength: 1, maxLength: 1 }), weight: 4 },
  );

/** Data: mostly small JSON values, some with tricky strings; now and then too deep. */
type Payload =
  | { kind: "data"; data: unknown }
  | { kind: "absent" }
  | { kind: "deep"; depth: number }
  | { kind: "big"; chars: number }
  | { kind: "jwe"; jwe: string };

// A compact JWE as the SDK seals (dir + A256GCM: an empty key part); the server cannot open it.
const JWE = "eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..aXYtaXYtaXYtaXY.Y2lwaGVy.dGFndGFndGFndGFn";
const BODY_LIMIT = 64 * 1024;

const payloadArb = (): fc.Arbitrary<Payload> =>
  fc.oneof(
    {
      arbitrary: fc
        .jsonValue({ maxDepth: 3, depthSize: "small" })
        .map((data): Payload => ({ kind: "data", data })),
      weight: 12,
    },
    {
      arbitrary: fc
        .jsonValue({ maxDepth: 2, stringUnit: trickyUnit() })
        .map((data): Payload => ({ kind: "data", data })),
      weight: 2,
    },
    { arbitrary: fc.constant<Payload>({ kind: "absent" }), weight: 1 },
    {
      arbitrary: fc
        .constantFrom(JWE, JWE, "not.a.jwe", `${JWE}.`)
        .map((jwe): Payload => ({ kind: "jwe", jwe })),
      weight: 1,
    },
    // Over the data limit (16 KiB), and over the body limit (64 KiB).
    {
      arbitrary: fc.constantFrom(17_000, 70_000).map((chars): Payload => ({ kind: "big", chars })),
      weight: 1,
    },
    // As deep as data may be: every store must give it back.
    { arbitrary: fc.constant<Payload>({ kind: "data", data: nested(MAX_DEPTH) }), weight: 1 },
    {
      arbitrary: fc
        .constantFrom(MAX_DEPTH + 1, 100, 2000)
        .map((depth): Payload => ({ kind: "deep", depth })),
      weight: 1,
    },
  );

/** `depth` levels of arrays and objects around a string. */
function nested(depth: number): unknown {
  let value: unknown = "bottom";
  for (let i = 0; i < depth; i++) value = i % 2 ? { k: value } : [value];
  return value;
}

// Mostly a few ids, so that writes meet what earlier ones wrote.
const idArb = fc.oneof(
  { arbitrary: fc.constantFrom(...VALID_IDS.slice(0, 3)), weight: 8 },
  { arbitrary: fc.constantFrom(...VALID_IDS), weight: 6 },
  { arbitrary: fc.constantFrom(...INVALID_IDS), weight: 1 },
);
// Mostly the first owner, so that its sessions pile up (and meet the quota in some runs).
const ownerArb = fc.oneof(
  { arbitrary: fc.constant(0), weight: 3 },
  { arbitrary: fc.constant(1), weight: 2 },
  { arbitrary: fc.constant(2), weight: 1 },
);
const ownerOf = (model: Model, index: number) =>
  model.owners[index % model.owners.length] as string;

class Put implements Command {
  constructor(
    readonly who: number,
    readonly id: string,
    readonly condition: Condition,
    readonly payload: Payload,
    readonly expiry: Expiry,
  ) {}

  check = () => true;

  async run(model: Model, real: Real): Promise<void> {
    const owner = ownerOf(model, this.who);
    const current = isValid(this.id) ? liveOf(model, owner, this.id) : undefined;
    const body: Record<string, unknown> = {};
    if (this.payload.kind === "data") body.data = this.payload.data;
    if (this.payload.kind === "deep") body.data = nested(this.payload.depth);
    if (this.payload.kind === "big") body.data = "x".repeat(this.payload.chars);
    if (this.payload.kind === "jwe")
      Object.assign(body, { data: this.payload.jwe, encrypted: true });
    const now = Date.now();
    if (this.expiry.kind === "ttl") body.ttl = this.expiry.ttl;
    if (this.expiry.kind === "expiresAt") body.expiresAt = now + this.expiry.inMs;
    if (this.expiry.kind === "bad") Object.assign(body, this.expiry.body);
    const headers = conditionHeaders(this.condition, current);
    const before = Date.now();
    const reply = await send(real, owner, "PUT", sessionPath(this.id), { body, headers });
    const after = Date.now();
    if (!isValid(this.id)) return expectRefused(reply, `PUT of invalid id ${show(this.id)}`);
    const outcome = conditionOutcome(this.condition, current);
    // The server checks the condition's form, then the body, then the condition against the store.
    if (outcome === "malformed") return void expectConditionRefusal(outcome, reply, current);
    // Bad data and a bad ttl at once: either may be reported.
    // A body over the limit (64 KiB) is refused before it is read.
    if (this.payload.kind === "big" && this.payload.chars > BODY_LIMIT) {
      return expectError(reply, 413, "PAYLOAD_TOO_LARGE");
    }
    const badData =
      this.payload.kind === "deep" ||
      this.payload.kind === "big" ||
      (this.payload.kind === "jwe" && this.payload.jwe !== JWE);
    const bad = [
      ...(badData ? ["INVALID_DATA"] : []),
      ...(this.expiry.kind === "bad" ? ["INVALID_TTL"] : []),
    ];
    if (bad.length > 0) {
      expectError(reply, 400);
      return expect(bad).toContain(reply.body.error.code);
    }
    if (expectConditionRefusal(outcome, reply, current)) return;
    if (!current && overQuota(model, owner)) return expectError(reply, 403, "QUOTA_EXCEEDED");
    const ttl = this.expiry.kind === "ttl" ? this.expiry.ms : DEFAULT_TTL;
    const session: ModelSession = reply.body?.session;
    expect(reply.status, show(reply.body)).toBe(current ? 200 : 201);
    expect(session.updatedAt).toBeGreaterThanOrEqual(before);
    expect(session.updatedAt).toBeLessThanOrEqual(after);
    const expected: ModelSession = {
      id: this.id,
      data:
        this.payload.kind === "data"
          ? asJson(this.payload.data)
          : this.payload.kind === "jwe"
            ? this.payload.jwe
            : null,
      createdAt: current ? current.createdAt : session.updatedAt,
      updatedAt: session.updatedAt,
      expiresAt:
        this.expiry.kind === "expiresAt" ? (body.expiresAt as number) : session.updatedAt + ttl,
      ttl,
      version: current
        ? current.version + 1
        : expectCreatedVersion(model, owner, this.id, session.version),
      ...(this.payload.kind === "jwe" ? { encrypted: true as const } : {}),
    };
    expectSession(reply, current ? 200 : 201, expected);
    sessionsOf(model, owner).set(this.id, expected);
    expiredOf(model, owner).delete(this.id);
  }

  toString(): string {
    const data = this.payload.kind === "data" ? show(this.payload.data) : this.payload.kind;
    const expiry = this.expiry.kind === "bad" ? show(this.expiry.body) : show(this.expiry);
    return `PUT(owner ${this.who}, ${show(this.id)}, ${show(this.condition)}, ${data}, ${expiry})`;
  }
}

class Touch implements Command {
  constructor(
    readonly who: number,
    readonly id: string,
    readonly condition: Condition,
    readonly ttl: number | string | undefined,
  ) {}

  check = () => true;

  async run(model: Model, real: Real): Promise<void> {
    const owner = ownerOf(model, this.who);
    const current = isValid(this.id) ? liveOf(model, owner, this.id) : undefined;
    const headers = conditionHeaders(this.condition, current);
    const body = this.ttl === undefined ? undefined : { ttl: this.ttl };
    const before = Date.now();
    const reply = await send(real, owner, "POST", `${sessionPath(this.id)}/touch`, {
      body,
      headers,
    });
    const after = Date.now();
    if (!isValid(this.id)) return expectRefused(reply, `touch of invalid id ${show(this.id)}`);
    const outcome = conditionOutcome(this.condition, current);
    if (outcome === "malformed") return void expectConditionRefusal(outcome, reply, current);
    if (this.ttl === -1) return expectError(reply, 400, "INVALID_TTL");
    if (expectConditionRefusal(outcome, reply, current)) return;
    if (!current) return expectError(reply, 404, "SESSION_NOT_FOUND");
    const session: ModelSession = reply.body?.session;
    expect(reply.status, show(reply.body)).toBe(200);
    expect(session.updatedAt).toBeGreaterThanOrEqual(Math.max(before, current.updatedAt));
    expect(session.updatedAt).toBeLessThanOrEqual(after);
    const ttl = this.ttl === undefined ? current.ttl : ttlMs(this.ttl);
    // A touch moves the expiry by the ttl it is given, and keeps the session's own ttl.
    const expected: ModelSession = {
      ...current,
      updatedAt: session.updatedAt,
      expiresAt: session.updatedAt + ttl,
      version: current.version + 1,
    };
    expectSession(reply, 200, expected);
    sessionsOf(model, owner).set(this.id, expected);
  }

  toString(): string {
    return `touch(owner ${this.who}, ${show(this.id)}, ${show(this.condition)}, ttl ${show(this.ttl)})`;
  }
}

const ttlMs = (ttl: number | string) =>
  typeof ttl === "number"
    ? Math.min(ttl, MAX_TTL)
    : ttl === "1000d"
      ? MAX_TTL
      : Number.parseInt(ttl, 10) * HOUR;

class Remove implements Command {
  constructor(
    readonly who: number,
    readonly id: string,
    readonly condition: Condition,
  ) {}

  check = () => true;

  async run(model: Model, real: Real): Promise<void> {
    const owner = ownerOf(model, this.who);
    const current = isValid(this.id) ? liveOf(model, owner, this.id) : undefined;
    const headers = conditionHeaders(this.condition, current);
    const reply = await send(real, owner, "DELETE", sessionPath(this.id), { headers });
    if (!isValid(this.id)) return expectRefused(reply, `DELETE of invalid id ${show(this.id)}`);
    if (expectConditionRefusal(conditionOutcome(this.condition, current), reply, current)) return;
    if (!current) return expectError(reply, 404, "SESSION_NOT_FOUND");
    expect(reply.status, show(reply.body)).toBe(200);
    expect(reply.body).toEqual({ removed: true });
    sessionsOf(model, owner).delete(this.id);
  }

  toString(): string {
    return `DELETE(owner ${this.who}, ${show(this.id)}, ${show(this.condition)})`;
  }
}

class Get implements Command {
  constructor(
    readonly who: number,
    readonly id: string,
  ) {}

  check = () => true;

  async run(model: Model, real: Real): Promise<void> {
    const owner = ownerOf(model, this.who);
    const reply = await send(real, owner, "GET", sessionPath(this.id));
    if (!isValid(this.id)) return expectRefused(reply, `GET of invalid id ${show(this.id)}`);
    const current = liveOf(model, owner, this.id);
    if (!current) return expectError(reply, 404, "SESSION_NOT_FOUND");
    expectSession(reply, 200, current);
  }

  toString(): string {
    return `GET(owner ${this.who}, ${show(this.id)})`;
  }
}

class List implements Command {
  constructor(
    readonly who: number,
    readonly limit: number | undefined,
  ) {}

  check = () => true;

  async run(model: Model, real: Real): Promise<void> {
    await expectList(model, real, ownerOf(model, this.who), this.limit);
  }

  toString(): string {
    return `list(owner ${this.who}, limit ${this.limit})`;
  }
}

/**
 * A page asked for with a bad `limit`, or with a `next` the server did not give this owner
 * (another owner's, or made up): 400, or a page of this owner's own sessions only.
 */
class OddPage implements Command {
  constructor(
    readonly who: number,
    readonly query: { limit: string } | { next: string } | { foreign: number },
  ) {}

  check = () => true;

  async run(model: Model, real: Real): Promise<void> {
    const owner = ownerOf(model, this.who);
    let query: string;
    if ("limit" in this.query) query = `limit=${encodeURIComponent(this.query.limit)}`;
    else if ("next" in this.query) query = `next=${encodeURIComponent(this.query.next)}`;
    else {
      // The cursor another owner's first page (of one) ends at.
      const other = ownerOf(model, this.query.foreign);
      const first = await send(real, other, "GET", "/v1/sessions?limit=1");
      expect(first.status).toBe(200);
      if (first.body.next === undefined) return;
      query = `limit=5&next=${encodeURIComponent(first.body.next)}`;
    }
    const reply = await send(real, owner, "GET", `/v1/sessions?${query}`);
    if ("limit" in this.query) return expectError(reply, 400, "BAD_REQUEST");
    if (reply.status === 400) return expectError(reply, 400, "BAD_REQUEST");
    expect(reply.status, show(reply.body)).toBe(200);
    const own = new Map(liveSessions(model, owner).map((session) => [session.id, session]));
    for (const session of reply.body.sessions) expect(session).toEqual(own.get(session.id));
    const ids = reply.body.sessions.map((session: ModelSession) => session.id);
    expect(new Set(ids).size).toBe(ids.length);
  }

  toString(): string {
    return `oddPage(owner ${this.who}, ${show(this.query)})`;
  }
}

class Changes implements Command {
  constructor(
    readonly who: number,
    readonly since: "none" | "last" | "zero" | "log" | { bad: string } | { foreign: string },
  ) {}

  check = () => true;

  async run(model: Model, real: Real): Promise<void> {
    const owner = ownerOf(model, this.who);
    if (typeof this.since === "object" && "bad" in this.since) {
      const bad = `/v1/changes?since=${encodeURIComponent(this.since.bad)}`;
      return expectError(await send(real, owner, "GET", bad), 400, "BAD_REQUEST");
    }
    const log = model.logs.get(owner);
    const since =
      typeof this.since === "object"
        ? this.since.foreign
        : this.since === "zero"
          ? 0
          : this.since === "last"
            ? model.cursors.get(owner)
            : this.since === "log"
              ? log
              : undefined;
    const query = since === undefined ? "" : `?since=${encodeURIComponent(since)}`;
    const reply = await send(real, owner, "GET", `/v1/changes${query}`);
    expect(reply.status, show(reply.body)).toBe(200);
    const { cursor, changed, live, removed } = reply.body;
    const sessions = liveSessions(model, owner).sort(byId);
    if (live === undefined) {
      // A change-log answer: each session changed as it is now, the removed ones not live, a
      // cursor never made answered with resync.
      expect(typeof cursor).toBe("string");
      if (typeof this.since === "object") expect(reply.body.resync).toBe(true);
      const now = new Map(sessions.map((s) => [s.id, s]));
      for (const session of changed) expect(session).toEqual(now.get(session.id));
      for (const id of removed) expect(now.has(id)).toBe(false);
      model.logs.set(owner, cursor);
      return;
    }
    expect(typeof cursor).toBe("number");
    expect([...live].sort()).toEqual(sessions.map((s) => s.id).sort());
    // Every live session changed at or after `since`, as it is now (protocol.ts's ChangesBody).
    const after = typeof since === "number" ? since : undefined;
    const expected = sessions.filter((s) => after === undefined || s.updatedAt >= after);
    expect([...changed].sort(byId)).toEqual(expected);
    model.cursors.set(owner, cursor);
    if (typeof reply.body.log === "string") model.logs.set(owner, reply.body.log);
  }

  toString(): string {
    return `changes(owner ${this.who}, since ${show(this.since)})`;
  }
}

class Clear implements Command {
  constructor(readonly who: number) {}

  check = () => true;

  async run(model: Model, real: Real): Promise<void> {
    const owner = ownerOf(model, this.who);
    const live = liveSessions(model, owner).length;
    const reply = await send(real, owner, "DELETE", "/v1/sessions");
    expect(reply.status, show(reply.body)).toBe(200);
    expect(reply.body).toEqual({ removed: live });
    sessionsOf(model, owner).clear();
    expiredOf(model, owner).clear();
  }

  toString(): string {
    return `clear(owner ${this.who})`;
  }
}

/**
 * Writes of one session at once: create-only PUTs (one wins, the others are 409 SESSION_EXISTS),
 * or touches (each lands once: versions one apart, none lost; a write that keeps losing the race
 * may be 409 CONFLICT, "try again").
 */
class Race implements Command {
  constructor(
    readonly who: number,
    readonly id: string,
    readonly kind: "create" | "touch",
    readonly n: number,
  ) {}

  check = () => true;

  async run(model: Model, real: Real): Promise<void> {
    const owner = ownerOf(model, this.who);
    const current = liveOf(model, owner, this.id);
    const path = sessionPath(this.id);
    const replies = await Promise.all(
      Array.from({ length: this.n }, (_, i) =>
        this.kind === "create"
          ? send(real, owner, "PUT", path, {
              body: { data: { racer: i } },
              headers: { "if-none-match": "*" },
            })
          : send(real, owner, "POST", `${path}/touch`),
      ),
    );
    const statuses = replies.map((reply) => reply.status);
    if (this.kind === "create") {
      if (current) return expect(statuses).toEqual(replies.map(() => 409));
      if (overQuota(model, owner)) return expect(statuses).toEqual(replies.map(() => 403));
      const won = replies.filter((reply) => reply.status === 201);
      expect(won.length, show(statuses)).toBe(1);
      for (const reply of replies)
        if (reply.status !== 201) expectError(reply, 409, "SESSION_EXISTS");
      const session = won[0]?.body.session as ModelSession;
      expectCreatedVersion(model, owner, this.id, session.version);
      sessionsOf(model, owner).set(this.id, session);
      return void expiredOf(model, owner).delete(this.id);
    }
    if (!current) return expect(statuses).toEqual(replies.map(() => 404));
    const landed = replies.filter((reply) => reply.status === 200);
    for (const reply of replies) if (reply.status !== 200) expectError(reply, 409, "CONFLICT");
    const versions = landed.map((reply) => reply.body.session.version).sort((a, b) => a - b);
    expect(versions).toEqual(landed.map((_, i) => current.version + 1 + i));
    const last = landed.find((reply) => reply.body.session.version === versions.at(-1));
    if (last) sessionsOf(model, owner).set(this.id, last.body.session);
  }

  toString(): string {
    return `race(owner ${this.who}, ${show(this.id)}, ${this.n} x ${this.kind})`;
  }
}

/** A session created with a 1 ms ttl, waited out: gone from every read, as if never there. */
class Expire implements Command {
  constructor(
    readonly who: number,
    readonly id: string,
  ) {}

  check = () => true;

  async run(model: Model, real: Real): Promise<void> {
    const owner = ownerOf(model, this.who);
    const current = liveOf(model, owner, this.id);
    const reply = await send(real, owner, "PUT", sessionPath(this.id), {
      body: { data: "short-lived", ttl: 1 },
    });
    if (!current && overQuota(model, owner)) return expectError(reply, 403, "QUOTA_EXCEEDED");
    expect(reply.status, show(reply.body)).toBe(current ? 200 : 201);
    const { expiresAt } = reply.body.session as ModelSession;
    const { version } = reply.body.session as ModelSession;
    if (current) expect(version).toBe(current.version + 1);
    else expectCreatedVersion(model, owner, this.id, version);
    while (Date.now() <= expiresAt) await new Promise((resolve) => setTimeout(resolve, 1));
    sessionsOf(model, owner).delete(this.id);
    expiredOf(model, owner).set(this.id, version);
  }

  toString(): string {
    return `expire(owner ${this.who}, ${show(this.id)})`;
  }
}

/** A request with a token no server may accept: 401, nothing changed. */
class BadToken implements Command {
  constructor(
    readonly sub: string,
    readonly request: "list" | "put" | "clear",
  ) {}

  check = () => true;

  async run(_model: Model, real: Real): Promise<void> {
    const path = this.request === "put" ? sessionPath("s1") : "/v1/sessions";
    const method = this.request === "put" ? "PUT" : this.request === "clear" ? "DELETE" : "GET";
    const body = this.request === "put" ? { data: "from a bad token" } : undefined;
    const reply = await send(real, `bad:${this.sub}`, method, path, { body });
    expectError(reply, 401, "UNAUTHORIZED");
  }

  toString(): string {
    return `badToken(sub ${show(this.sub)}, ${this.request})`;
  }
}

const put = () =>
  fc
    .tuple(ownerArb, idArb, conditionArb(true), payloadArb(), expiryArb)
    .map(([who, id, condition, payload, expiry]) => new Put(who, id, condition, payload, expiry));
const touch = fc
  .tuple(
    ownerArb,
    idArb,
    conditionArb(false),
    fc.constantFrom<number | string | undefined>(undefined, undefined, 2 * HOUR, "3h", "1000d", -1),
  )
  .map(([who, id, condition, ttl]) => new Touch(who, id, condition, ttl));
const remove = fc
  .tuple(ownerArb, idArb, conditionArb(false))
  .map(([who, id, condition]) => new Remove(who, id, condition));
const get = fc.tuple(ownerArb, idArb).map(([who, id]) => new Get(who, id));
const list = fc
  .tuple(ownerArb, fc.constantFrom(undefined, 1, 2, 5, 1000))
  .map(([who, limit]) => new List(who, limit));
const oddPage = fc
  .tuple(
    ownerArb,
    fc.oneof(
      fc.constantFrom("0", "1001", "-1", "1.5", "x", "").map((limit) => ({ limit })),
      fc
        .constantFrom("", "x", "!!", "AA", "czE", "cw", "AA==", "%00", "7aCA", "Lg")
        .map((next) => ({ next })),
      ownerArb.map((foreign) => ({ foreign })),
    ),
  )
  .map(([who, query]) => new OddPage(who, query));
const changes = fc
  .tuple(
    ownerArb,
    fc.oneof(
      {
        arbitrary: fc.constantFrom(
          "none" as const,
          "last" as const,
          "zero" as const,
          "log" as const,
        ),
        weight: 8,
      },
      {
        arbitrary: fc
          .constantFrom("1".repeat(16), "", "é", " x", "a".repeat(201))
          .map((bad) => ({ bad })),
        weight: 1,
      },
      {
        arbitrary: fc.constantFrom("x", "-1", "1.5", "p000001").map((foreign) => ({ foreign })),
        weight: 1,
      },
    ),
  )
  .map(([who, since]) => new Changes(who, since));
const clear = ownerArb.map((who) => new Clear(who));
const race = fc
  .tuple(
    ownerArb,
    fc.constantFrom(...VALID_IDS.slice(0, 3)),
    fc.constantFrom("create" as const, "touch" as const),
    fc.integer({ min: 2, max: 4 }),
  )
  .map(([who, id, kind, n]) => new Race(who, id, kind, n));
const expire = fc
  .tuple(ownerArb, fc.constantFrom(...VALID_IDS.slice(0, 3)))
  .map(([who, id]) => new Expire(who, id));
const badToken = fc
  .tuple(
    fc.constantFrom(...BAD_SUBS),
    fc.constantFrom("list" as const, "put" as const, "clear" as const),
  )
  .map(([sub, request]) => new BadToken(sub, request));

/**
 * The commands, one weighted choice: mostly writes (so that sessions pile up and meet each
 * other's conditions), reads that check them, now and then a clear, an expiry or a bad token.
 */
export const commandArb: fc.Arbitrary<Command> = fc.oneof(
  { arbitrary: put(), weight: 16 },
  { arbitrary: touch, weight: 8 },
  { arbitrary: remove, weight: 3 },
  { arbitrary: get, weight: 5 },
  { arbitrary: list, weight: 4 },
  { arbitrary: changes, weight: 4 },
  { arbitrary: oddPage, weight: 1 },
  { arbitrary: clear, weight: 1 },
  { arbitrary: race, weight: 2 },
  { arbitrary: expire, weight: 1 },
  { arbitrary: badToken, weight: 1 },
);

/** A server for one run, over a store no other run uses; closed (and emptied) after it. */
export interface FuzzTarget {
  server: SessionServer;
  /** Lines the server logged at `error`. */
  errors: string[];
  close(): Promise<void>;
}

export interface FuzzOptions {
  /** A new server over an empty namespace (or file), with these settings. */
  open: (settings: RunSettings) => Promise<FuzzTarget>;
  /** Runs when FUZZ_RUNS is not set. */
  runs: number;
  /** Commands per run, at most. */
  maxCommands?: number;
  /** Stop drawing new runs after this long (a slow machine runs fewer); shrinking included. */
  timeLimitMs?: number;
}

/** The seed runs start from: FUZZ_SEED, or a fixed one, so CI runs the same sequences. */
export const FUZZ_SEED = Number(process.env.FUZZ_SEED ?? 20_261_104);

/** A server for one run: its own namespace (and file), errors logged into `errors`. */
export function fuzzTarget(
  backend: Partial<SessionServerOptions>,
  settings: RunSettings,
  twins = false,
): FuzzTarget {
  const errors: string[] = [];
  const namespace = runId();
  const one = () => createSessionServer(serverOptions(backend, settings, namespace, errors));
  if (!twins) {
    const server = one();
    return { server, errors, close: () => server.close() };
  }
  // Two servers on one namespace, taking requests in turn: neither may keep what the other needs.
  const [a, b] = [one(), one()];
  let turn = 0;
  const server: SessionServer = {
    fetch: (request) => (turn++ % 2 ? b : a).fetch(request),
    close: async () => void (await Promise.all([a.close(), b.close()])),
  };
  return { server, errors, close: () => server.close() };
}

/** What a run's server is given: its quota, and how often it sweeps (0: never). */
export interface RunSettings {
  quota: number;
  sweepMs: number;
}

function serverOptions(
  backend: Partial<SessionServerOptions>,
  settings: RunSettings,
  namespace: string,
  errors: string[],
): SessionServerOptions {
  const log = (message: string) => void errors.push(message);
  return {
    backend: "memory",
    ...backend,
    namespace,
    auth: { secret: SECRET },
    sweepInterval: settings.sweepMs,
    logger: { debug() {}, info() {}, warn: log, error: log },
    logLevel: "warn",
    maxSessionsPerOwner: settings.quota,
  };
}

/**
 * `fuzzTarget` listening on 127.0.0.1 (a free port), reached with `fetch` over a socket: the Node
 * adapter's parsing of paths, headers and bodies in the loop.
 */
export async function listeningTarget(
  backend: Partial<SessionServerOptions>,
  settings: RunSettings,
): Promise<FuzzTarget> {
  const errors: string[] = [];
  const options = serverOptions(backend, settings, runId(), errors);
  const running = await serve({ ...options, port: 0 });
  const server: SessionServer = {
    fetch: async (request) => {
      const { pathname, search } = new URL(request.url);
      const body = request.body ? await request.text() : undefined;
      const init: RequestInit = { method: request.method, headers: request.headers };
      if (body !== undefined) init.body = body;
      return fetch(`${running.url}${pathname}${search}`, init);
    },
    close: () => running.close(),
  };
  return { server, errors, close: () => running.close() };
}

// FUZZ_STATS=1: how often each route answered each status, printed after the runs.
const STATS = process.env.FUZZ_STATS ? new Map<string, number>() : undefined;

/** Runs the fuzz against the servers `options.open` makes; rejects with fast-check's report. */
export async function fuzzServer(options: FuzzOptions): Promise<void> {
  const runs = Number(process.env.FUZZ_RUNS ?? options.runs);
  const owners = fc.uniqueArray(fc.constantFrom(...OWNERS), { minLength: 2, maxLength: 3 });
  const commands = fc.commands([commandArb], {
    maxCommands: options.maxCommands ?? 60,
    size: "max",
    ...(process.env.FUZZ_PATH ? { replayPath: process.env.FUZZ_PATH } : {}),
  });
  // A quota some runs reach (the id pool holds 16), or the default one.
  // A quota some runs reach (the id pool holds 17), or the default one; a sweep every 10 ms
  // (deleting what expired under the requests' feet) in some runs.
  const settings = fc.record({
    quota: fc.constantFrom(4, 1000),
    sweepMs: fc.constantFrom(0, 0, 10),
  });
  const property = fc.asyncProperty(owners, settings, commands, async (names, run, cmds) => {
    const { quota } = run;
    const target = await options.open(run);
    const tokens = new Map<string, string>();
    for (const owner of names) tokens.set(owner, await token(owner));
    for (const sub of BAD_SUBS) tokens.set(`bad:${sub}`, await token(sub));
    const real: Real = { server: target.server, tokens, errors: target.errors };
    const model = emptyModel(names, quota, run.sweepMs > 0);
    try {
      await fc.asyncModelRun(() => ({ model, real }), cmds);
      // Whatever the commands were, each owner ends with exactly what the model says.
      for (const owner of names) await expectList(model, real, owner);
      // And the server logged no warning or error (a failed sweep, a store error).
      expect(target.errors).toEqual([]);
    } finally {
      await Promise.allSettled(names.map((owner) => send(real, owner, "DELETE", "/v1/sessions")));
      await target.close();
    }
  });
  await fc.assert(property, {
    numRuns: runs,
    seed: FUZZ_SEED,
    ...(process.env.FUZZ_PATH ? { path: process.env.FUZZ_PATH } : {}),
    interruptAfterTimeLimit: options.timeLimitMs ?? 60_000,
  });
  if (STATS)
    console.log(
      [...STATS]
        .sort()
        .map(([key, n]) => `${key}: ${n}`)
        .join("\n"),
    );
}
