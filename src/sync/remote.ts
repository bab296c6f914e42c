// The remote store: sessions kept by a sessionmanager server, over the HTTP API of protocol.ts.
// The server is the authority on versions and times: this file converts times between its clock
// and the local one, maps the API's answers onto the store contract, and remembers what it saw,
// so that the manager can tell a session that expired on the server from one removed there.
import ky, { HTTPError, TimeoutError } from "ky";
import { type Duration, parseDuration } from "../duration.ts";
import {
  AuthError,
  BackendError,
  ConflictError,
  InvalidDataError,
  InvalidSessionIdError,
  InvalidTtlError,
} from "../errors.ts";
import type { SessionRecord, SessionStore, WriteCondition } from "../stores/types.ts";
import { echoes, fromWire, type Incoming, isOwnWrite, ServerClock } from "./clock.ts";
import {
  API_VERSION,
  type ChangesBody,
  type ErrorBody,
  type PutBody,
  TIME_HEADER,
} from "./protocol.ts";

/** Options of the remote store (and of the server a replica syncs with). */
export interface RemoteOptions {
  /** Base URL of the server, with its `basePath`: `"https://example.com/api"`. */
  url: string;
  /**
   * A bearer token (a JWT whose `sub` owns the sessions), or a function that gets one. The
   * function is called once more when the server answers 401, and the request retried once.
   */
  token: string | (() => string | Promise<string>);
  /** Time limit of each attempt of a request. Default `"10s"`. */
  timeout?: Duration;
  /**
   * Retries of a request that may be repeated safely (reads, deletes, conditional writes) after
   * a network failure, a timeout or a 5xx, with growing delays. Default 2.
   */
  retry?: number;
  /** The `fetch` to use instead of the global one (tests, SSR, a server's own `fetch`). */
  fetch?: typeof fetch;
}

/**
 * A store whose records live on a sessionmanager server: the server sets versions and times
 * and expires sessions by itself; the store converts its times into the local clock.
 * @example
 * new SessionManager({ backend: remoteStore({ url: "https://example.com/api", token: getToken }) })
 */
export function remoteStore(options: RemoteOptions): SessionStore {
  return new RemoteStore(new RemoteClient(options));
}

/** What a write came to: written (with what was sent), or refused, with the server's copy. */
export type PutOutcome =
  | { readonly status: "ok"; readonly session: Incoming; readonly sent: PutBody }
  | { readonly status: "refused"; readonly session?: Incoming };
/** What a delete came to; `refused` carries the server's copy when it has one. */
export type DeleteOutcome =
  | { readonly status: "deleted" | "missing" }
  | { readonly status: "refused"; readonly session?: Incoming };

type Method = "get" | "put" | "delete";
type Fields = Record<string, string>;
type Parts = { json?: unknown; headers?: Fields | undefined; searchParams?: Fields | undefined };
/** An answer to act on (2xx, or one of `ANSWERS`); `retried`: an earlier attempt may have landed. */
type Reply = { readonly status: number; readonly body: unknown; readonly retried: boolean };

const DEFAULT_TIMEOUT = "10s";
const DEFAULT_RETRIES = 2;
// ky's backoff (0.3 s, 0.6 s, 1.2 s …), capped: no retry waits longer than this.
const RETRY_BACKOFF_LIMIT_MS = 5000;
const RETRY_STATUS = [408, 429, 500, 502, 503, 504];
const ALL_METHODS = ["get", "put", "delete"];
// The refusals the store acts on; a 404 with another code is a wrong URL, not a session.
const ANSWERS: Record<number, string> = {
  404: "SESSION_NOT_FOUND",
  409: "SESSION_EXISTS",
  412: "CONFLICT",
};

/**
 * The HTTP API as calls that resolve to what the server answered, in the local clock. Network
 * failures, timeouts and 5xx reject with `BackendError` (with `status` when there was one), 401
 * with `AuthError`, a refused input with the SDK's error of its code. @internal
 */
export class RemoteClient {
  readonly clock: ServerClock = new ServerClock();
  private readonly api: typeof ky;
  private readonly retries: number;
  private readonly tokens: TokenSource;
  private readonly aborter = new AbortController();

  constructor(options: RemoteOptions) {
    const base = options.fetch;
    // Every response, errors included, carries the server's clock: each is a sample.
    const measured = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
      const sent = Date.now();
      const response = await (base ?? globalThis.fetch)(input, init);
      const stamp = response.headers.get(TIME_HEADER);
      if (stamp !== null) this.clock.sample(sent, Date.now(), Number(stamp));
      return response;
    };
    this.retries = options.retry ?? DEFAULT_RETRIES;
    this.tokens = new TokenSource(options.token);
    this.api = ky.create({
      prefixUrl: `${options.url.replace(/\/+$/, "")}/${API_VERSION}`,
      timeout: parseDuration(options.timeout ?? DEFAULT_TIMEOUT, "timeout"),
      fetch: measured,
      signal: this.aborter.signal,
      // 4xx are answers to act on; 5xx (and 408, 429) are failures, retried where safe.
      throwHttpErrors: (status) => status >= 500 || status === 408 || status === 429,
    });
  }

  /** The server's copy of a live session, or `undefined`. */
  async get(id: string): Promise<Incoming | undefined> {
    const reply = await this.request("get", sessionPath(id), {});
    return reply.status === 404 ? undefined : this.incoming(field(reply.body, "session"));
  }

  /**
   * PUT under `If-None-Match: *` (`ifAbsent`), `If-Match` (`ifVersion`) or no condition.
   * `resent`: the same write may have reached the server before (an answer that never came).
   */
  async put(
    record: SessionRecord,
    condition?: WriteCondition,
    resent = false,
  ): Promise<PutOutcome> {
    const { data, ttl } = record;
    const sent: PutBody = { data, ttl, expiresAt: this.clock.toServer(record.expiresAt) };
    if (record.encrypted) sent.encrypted = true;
    const headers = preconditionHeaders(condition);
    const reply = await this.request("put", sessionPath(record.id), { json: sent, headers });
    if (reply.status < 300) {
      return { status: "ok", session: this.incoming(field(reply.body, "session")), sent };
    }
    const session = await this.serverCopy(record.id, reply);
    // A first attempt that wrote but whose answer was lost makes the retry fail its condition:
    // the server holding exactly that write means it went through.
    if ((reply.retried || resent) && session && isOwnWrite(session.wire, sent, condition)) {
      return { status: "ok", session, sent };
    }
    return session ? { status: "refused", session } : { status: "refused" };
  }

  /** DELETE, with `If-Match` when `ifVersion` is given. */
  async delete(id: string, ifVersion?: number): Promise<DeleteOutcome> {
    const headers = preconditionHeaders(ifVersion === undefined ? undefined : { ifVersion });
    const reply = await this.request("delete", sessionPath(id), { headers });
    if (reply.status < 300) return { status: "deleted" };
    const copy = reply.status === 412 ? field(reply.body, "session", true) : undefined;
    // A retried delete that finds nothing most likely deleted it the first time.
    if (copy === undefined) return { status: reply.retried ? "deleted" : "missing" };
    return { status: "refused", session: this.incoming(copy) };
  }

  /** The owner's live sessions. */
  async list(): Promise<Incoming[]> {
    const reply = await this.request("get", "sessions", {});
    return list(field(reply.body, "sessions")).map((s) => this.incoming(s));
  }

  /** Deletes all of the owner's sessions. */
  async clear(): Promise<void> {
    await this.request("delete", "sessions", {});
  }

  /** What changed since `cursor` (every live session without one), and which ids are live. */
  async changes(cursor?: number): Promise<{ cursor: number; changed: Incoming[]; live: string[] }> {
    const searchParams = cursor === undefined ? undefined : { since: String(cursor) };
    const reply = await this.request("get", "changes", { searchParams });
    const body = (reply.body ?? {}) as Partial<ChangesBody>;
    if (!Number.isFinite(body.cursor)) throw malformed("a changes answer without a cursor");
    const changed = list(body.changed).map((s) => this.incoming(s));
    const live = list(body.live).filter((id): id is string => typeof id === "string");
    return { cursor: body.cursor as number, changed, live };
  }

  /** Cancels what is in flight and whatever comes later (they reject). */
  close(): void {
    this.aborter.abort();
  }

  private incoming(wire: unknown): Incoming {
    return fromWire(wire, this.clock);
  }

  /** The server's copy after a refused write: in a 412's body, else read. */
  private async serverCopy(id: string, reply: Reply): Promise<Incoming | undefined> {
    const copy = reply.status === 412 ? field(reply.body, "session", true) : undefined;
    if (copy !== undefined) return this.incoming(copy);
    return reply.status === 409 || reply.retried ? this.get(id) : undefined;
  }

  /** One call: the token attached, refreshed once on 401; what is not an answer rejects. */
  private async request(method: Method, path: string, parts: Parts): Promise<Reply> {
    let token = await this.tokens.get();
    let reply = await this.send(method, path, parts, token);
    if (reply.status === 401 && this.tokens.refreshable) {
      token = await this.tokens.refresh(token);
      reply = await this.send(method, path, parts, token);
    }
    if (reply.status < 300) return reply;
    const { code, message } = errorOf(reply.body);
    if (ANSWERS[reply.status] === code) return reply;
    throw refusal(reply.status, code, message);
  }

  private async send(method: Method, path: string, parts: Parts, token: string): Promise<Reply> {
    // Reads, deletes and conditional writes may be repeated: an unconditional PUT may not.
    const idempotent = method !== "put" || parts.headers !== undefined;
    let retried = false;
    const onRetry = () => {
      retried = true;
    };
    try {
      const response = await this.api(path, {
        ...(parts as object),
        method,
        headers: { ...parts.headers, authorization: `Bearer ${token}` },
        retry: {
          limit: idempotent ? this.retries : 0,
          methods: ALL_METHODS,
          statusCodes: RETRY_STATUS,
          retryOnTimeout: true,
          backoffLimit: RETRY_BACKOFF_LIMIT_MS,
        },
        hooks: { beforeRetry: [onRetry] },
      });
      const text = await response.text();
      return { status: response.status, body: text ? JSON.parse(text) : undefined, retried };
    } catch (error) {
      throw unreachable(error, method, path);
    }
  }
}

/** The token, got once and again when the server refuses it; one refresh at a time. */
class TokenSource {
  readonly refreshable: boolean;
  private current: Promise<string> | undefined;

  constructor(private readonly source: RemoteOptions["token"]) {
    this.refreshable = typeof source === "function";
  }

  get(): Promise<string> {
    this.current ??= this.fetch();
    return this.current;
  }

  /** A new token, unless another call already replaced `stale`. */
  async refresh(stale: string): Promise<string> {
    if ((await this.get()) === stale) this.current = this.fetch();
    return this.get();
  }

  private async fetch(): Promise<string> {
    const { source } = this;
    try {
      return typeof source === "function" ? await source() : source;
    } catch (error) {
      this.current = undefined; // the next call asks again
      throw new AuthError("could not get a token for the session server", { cause: error });
    }
  }
}

/** What the store knows of a session: the record it hands out, and which server state it is. */
type Known = { readonly record: SessionRecord; readonly version: number; readonly stamp: number };

/**
 * The store over the client. It remembers the last copy of each session it saw: the server
 * deletes expired sessions by itself and then answers 404, and only a copy known to have
 * expired lets the manager fire `expired` (once) rather than lose the session silently.
 */
class RemoteStore implements SessionStore {
  readonly name = "remote";
  readonly capabilities = { nativeTtl: true } as const;
  // By id; `stamp` is the server's `updatedAt` (its clock) of the state the record is.
  private readonly known = new Map<string, Known>();

  constructor(private readonly client: RemoteClient) {}

  async get(id: string): Promise<SessionRecord | undefined> {
    const found = await this.client.get(id);
    return found ? this.remember(found) : this.expiredCopy(id);
  }

  async set(record: SessionRecord, condition?: WriteCondition): Promise<boolean> {
    // The server cannot hold an expired session: writing one is writing its absence.
    if (record.expiresAt <= Date.now()) return this.setExpired(record, condition);
    let outcome = await this.client.put(record, condition);
    // Replacing a copy that expired (which the server then dropped) is creating the id anew.
    if (outcome.status === "refused" && !outcome.session && condition && "ifVersion" in condition) {
      if (this.expiredCopy(record.id)?.version === condition.ifVersion) {
        outcome = await this.client.put(record, { ifAbsent: true });
      }
    }
    if (outcome.status === "refused") {
      if (outcome.session) this.remember(outcome.session);
      return false;
    }
    const { session, sent } = outcome;
    // The server kept the write as sent: hand back the record the manager made (times in its
    // own clock), not the same state stamped a few milliseconds apart.
    if (echoes(session.wire, sent, record)) this.keep(record, session.wire.updatedAt);
    else this.remember(session);
    return true;
  }

  async delete(id: string, condition?: { readonly ifVersion: number }): Promise<boolean> {
    const outcome = await this.client.delete(id, condition?.ifVersion);
    if (outcome.status === "refused") {
      if (outcome.session) this.remember(outcome.session);
      return false;
    }
    const expired = this.expiredCopy(id);
    this.known.delete(id);
    if (outcome.status === "deleted") return true;
    // Gone already: the server expired it. Deleted, for a copy this client saw expire.
    return expired !== undefined && (!condition || expired.version === condition.ifVersion);
  }

  async list(): Promise<SessionRecord[]> {
    const records = (await this.client.list()).map((s) => this.remember(s));
    const listed = new Set(records.map((r) => r.id));
    for (const id of [...this.known.keys()]) {
      const expired = listed.has(id) ? undefined : this.expiredCopy(id);
      if (expired) records.push(expired); // not yet announced as expired
    }
    return records;
  }

  async clear(): Promise<void> {
    await this.client.clear();
    this.known.clear();
  }

  /** The server sweeps by itself; this deletes what expired by `now` and returns it. */
  async purgeExpired(now: number): Promise<SessionRecord[]> {
    const due = (await this.list()).filter((r) => r.expiresAt <= now);
    const removed: SessionRecord[] = [];
    for (const r of due) if (await this.delete(r.id, { ifVersion: r.version })) removed.push(r);
    return removed;
  }

  close(): void {
    this.client.close();
  }

  /** The copy to hand out: the one this store knows, while the server's is still that state. */
  private remember({ record, wire }: Incoming): SessionRecord {
    const known = this.known.get(record.id);
    if (known?.version === wire.version && known.stamp === wire.updatedAt) return known.record;
    this.keep(record, wire.updatedAt);
    return record;
  }

  private keep(record: SessionRecord, stamp: number): void {
    this.known.set(record.id, { record, version: record.version, stamp });
  }

  /** The last copy seen of a session the server no longer has, if it has expired since. */
  private expiredCopy(id: string): SessionRecord | undefined {
    const known = this.known.get(id)?.record;
    if (known && known.expiresAt <= Date.now()) return known;
    this.known.delete(id); // removed elsewhere (or never seen)
    return undefined;
  }

  /** Writes an expired record: the server is to hold no live session with its id. */
  private async setExpired(record: SessionRecord, condition?: WriteCondition): Promise<boolean> {
    const { id } = record;
    let written: boolean;
    if (!condition) written = (await this.client.delete(id)).status !== "refused";
    else if ("ifAbsent" in condition) {
      written = !(await this.client.get(id)) && !this.expiredCopy(id);
    } else if (this.expiredCopy(id)?.version === condition.ifVersion) written = true;
    else written = (await this.client.delete(id, condition.ifVersion)).status === "deleted";
    if (written) this.keep(record, Number.NaN);
    return written;
  }
}

function preconditionHeaders(condition?: WriteCondition): Fields | undefined {
  if (!condition) return undefined;
  if ("ifAbsent" in condition) return { "if-none-match": "*" };
  return { "if-match": `"${condition.ifVersion}"` };
}

function sessionPath(id: string): string {
  return `sessions/${encodeURIComponent(id)}`;
}

/** `body[name]`; a missing one is a malformed answer unless `optional`. */
function field(body: unknown, name: string, optional = false): unknown {
  const value = (body as Record<string, unknown> | undefined)?.[name];
  if (value === undefined && !optional) throw malformed(`an answer without "${name}"`);
  return value;
}

function list(value: unknown): unknown[] {
  if (!Array.isArray(value)) throw malformed("a list that is not one");
  return value;
}

function errorOf(body: unknown): { code: string; message: string } {
  const { code, message } = (body as Partial<ErrorBody> | undefined)?.error ?? {};
  return {
    code: typeof code === "string" ? code : "UNKNOWN",
    message: typeof message === "string" ? message : "no message",
  };
}

/** The SDK's error for a refusal the store does not act on. */
function refusal(status: number, code: string, message: string): Error {
  if (status === 401) return new AuthError(`the session server refused the token: ${message}`);
  if (code === "INVALID_ID") return new InvalidSessionIdError(message);
  if (code === "INVALID_TTL") return new InvalidTtlError(message);
  if (code === "INVALID_DATA" || status === 413) return new InvalidDataError(message);
  if (code === "CONFLICT") return new ConflictError(message); // kept losing to other writers
  const error = new BackendError(`the session server answered ${status} ${code}: ${message}`);
  return Object.assign(error, { status });
}

/** A request that got no answer to act on: the network, a timeout, a 5xx, or `close()`. */
function unreachable(error: unknown, method: Method, path: string): Error {
  const what = `${method.toUpperCase()} ${path.split("/")[0]}`;
  if (error instanceof HTTPError) {
    const { status } = error.response;
    const reason = `${what}: the session server answered ${status}`;
    return Object.assign(new BackendError(reason, { cause: error }), { status });
  }
  const why = error instanceof TimeoutError ? "timed out" : "failed";
  const detail = error instanceof Error ? `: ${error.message}` : "";
  return new BackendError(`${what} ${why}${detail}`, { cause: error });
}

function malformed(what: string): BackendError {
  return new BackendError(`the session server sent ${what}`);
}
