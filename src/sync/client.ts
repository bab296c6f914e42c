// The HTTP client of the remote store and the replica: the API of protocol.ts through ky. It
// attaches the token (and gets a new one once on 401), samples the server's clock from every
// response, retries what may be repeated, and maps the answers onto what the stores act on or
// onto the SDK's errors.
import ky, { type Options } from "ky";
import { MAX_ID_LENGTH } from "../constants.ts";
import { parseDuration } from "../duration.ts";
import { AuthError, BackendError } from "../errors.ts";
import { API_VERSION, type ErrorBody, type PutBody, TIME_HEADER } from "../protocol.ts";
import type { SessionRecord, WriteCondition } from "../stores/types.ts";
import {
  ANSWERS,
  type Changes,
  type ChangesPage,
  type Cursor,
  isFiniteNumber,
  isFlag,
  isIds,
  isLogCursor,
  type Method,
  malformed,
  REFUSALS,
  unreachable,
} from "./answers.ts";
import { sameData } from "./changes.ts";
import { fromWire, type Incoming, ServerClock } from "./clock.ts";
import type { RemoteOptions } from "./options.ts";

/**
 * The condition of a write as a number, the way the outbox keeps it: `0` create only
 * (`ifAbsent`), `v` replace at version `v` (versions start at 1), `undefined` none.
 */
export type Base = number | undefined;

/**
 * What a write came to: written (`echoed`: the server kept it exactly as sent), or refused, with
 * the server's copy when it has one.
 */
export type PutOutcome =
  | { readonly ok: true; readonly session: Incoming; readonly echoed: boolean }
  | { readonly ok: false; readonly session: Incoming | undefined };
/** What a delete came to: `true` deleted, `false` nothing to delete, or refused for this copy. */
export type DeleteOutcome = boolean | { readonly session: Incoming };

/** A JSON answer; every field is checked where it is read. */
type Body = Record<string, unknown> & Partial<ErrorBody>;
/** An answer to act on (2xx, or one of `ANSWERS`); `retried`: an earlier attempt may have landed. */
type Reply = { readonly status: number; readonly body: Body; readonly retried: boolean };

// ky's backoff (0.3 s, 0.6 s, 1.2 s …), capped: no retry waits longer than this.
const RETRY_BACKOFF_LIMIT_MS = 5000;
// A `since` that no change comes after (the year 5138): a changes answer with only its cursor.
const NO_CHANGES = 1e14;
// Pages of a change log read in one pull: the next pull goes on from where this one stopped.
const MAX_PAGES = 20;

/** A store's write condition as a `Base`. */
export function baseOf(condition: WriteCondition | undefined): Base {
  return condition && ("ifAbsent" in condition ? 0 : condition.ifVersion);
}

/**
 * The HTTP API as calls that resolve to what the server answered, in the local clock. Network
 * failures, timeouts and 5xx reject with `BackendError` (with `status` when there was one), 401
 * with `AuthError`, a refused input with the SDK's error of its code. @internal
 */
export class RemoteClient {
  readonly clock: ServerClock = new ServerClock();
  /** Where a session left out of a list because it cannot be read is reported. */
  report: (error: Error) => void = () => {};
  private readonly api: typeof ky;
  // One controller per request under way, aborted by `close()`. Not one signal shared by all:
  // ky adds an abort listener to the signal it is given for every retry it waits out, so a dozen
  // requests retrying at once against a server that is down crossed Node's 10-listener warning.
  private readonly underWay = new Set<AbortController>();
  private closed = false;
  // One fetch of the token at a time; `undefined` until asked for, and after a failed fetch.
  private token: Promise<string> | undefined;

  constructor(private readonly options: RemoteOptions) {
    this.api = ky.create({
      // ky puts the one "/" between the URL and a path.
      prefixUrl: options.url,
      timeout: parseDuration(options.timeout ?? "10s", "timeout"),
      // Every response, errors included, carries the server's clock: each is a sample.
      fetch: async (input, init) => {
        const sent = Date.now();
        const response = await (options.fetch ?? fetch)(input, init);
        const stamp = response.headers.get(TIME_HEADER) ?? Number.NaN;
        this.clock.sample(sent, Date.now(), Number(stamp));
        return response;
      },
      // 4xx are answers to act on; 5xx (and 408, 429) are failures, retried where safe.
      throwHttpErrors: (status) => status >= 500 || status === 408 || status === 429,
      retry: { retryOnTimeout: true, backoffLimit: RETRY_BACKOFF_LIMIT_MS },
    });
  }

  /** The server's copy of a live session, or `undefined`. */
  async get(id: string): Promise<Incoming | undefined> {
    const { status, body } = await this.request("get", sessionPath(id));
    return status === 404 ? undefined : this.session(body.session, id);
  }

  /**
   * PUT under `If-None-Match: *` (`base` 0), `If-Match` or no condition. `resent`: the same
   * write may have reached the server before (an answer that never came).
   */
  async put(record: SessionRecord, base?: Base, resent?: boolean): Promise<PutOutcome> {
    const { id, data, ttl } = record;
    const expiresAt = this.clock.toServer(record.expiresAt);
    const sent: PutBody = { data, ttl, expiresAt };
    if (record.encrypted) sent.encrypted = true;
    // A capped session tells when it began: a rotation (a create) keeps its lifetime's end.
    const { maxAge } = record;
    if (maxAge !== undefined) {
      sent.maxAge = maxAge;
      sent.createdAt = this.clock.toServer(record.createdAt);
    }
    const reply = await this.request("put", sessionPath(id), base, { json: sent });
    const written = reply.status < 300;
    // The server's copy: in the answer, in a 412's body, else read (a 409's, or after a retry).
    const session = written
      ? this.session(reply.body.session, id)
      : (this.copy(reply, id) ??
        (reply.status === 409 || reply.retried ? await this.get(id) : undefined));
    if (!session) return { ok: false, session };
    const { wire } = session;
    // A first attempt that wrote but whose answer was lost makes the retry fail its condition:
    // the server holding exactly that write (the version it makes, the data) means it went through.
    const own =
      (reply.retried || resent) &&
      wire.version === (base || 0) + 1 &&
      sameData(wire.data ?? null, data ?? null);
    // `echoed`: the server kept the write exactly as sent.
    const echoed =
      wire.version === record.version &&
      wire.ttl === ttl &&
      wire.expiresAt === expiresAt &&
      wire.maxAge === maxAge;
    return written || own ? { ok: true, session, echoed } : { ok: false, session };
  }

  /** DELETE, with `If-Match` at version `base`. */
  async delete(id: string, base?: Base): Promise<DeleteOutcome> {
    const reply = await this.request("delete", sessionPath(id), base);
    const session = this.copy(reply, id);
    // A retried delete that finds nothing most likely deleted it the first time.
    return reply.status < 300 || (session ? { session } : reply.retried);
  }

  /** Deletes all of the owner's sessions. */
  async clear(): Promise<void> {
    await this.request("delete", "sessions");
  }

  /**
   * What changed since `cursor` (every session without one): every page of a log answer, and
   * a snapshot when the log no longer holds the cursor (`resync`).
   */
  async since(cursor: Cursor | undefined): Promise<Changes> {
    if (cursor === undefined) return this.snapshot();
    const changed = new Map<string, Incoming>();
    const removed = new Set<string>();
    let page = await this.changes(cursor);
    for (let pages = 1; ; pages++) {
      if (page.resync) return this.snapshot();
      if (page.live) return page; // a clock answer: complete by itself
      // A later page is the later truth about an id.
      for (const session of page.changed) {
        removed.delete(session.record.id);
        changed.set(session.record.id, session);
      }
      for (const id of page.removed ?? []) {
        changed.delete(id);
        removed.add(id);
      }
      if (!page.more || pages === MAX_PAGES) break;
      page = await this.changes(page.cursor);
    }
    return { cursor: page.cursor, changed: [...changed.values()], removed: [...removed] };
  }

  /**
   * One answer of `GET /v1/changes`: a log answer (a string cursor, `removed`), or a clock
   * answer (`live`), whose cursor is the log's head (`log`) where the server has a log.
   */
  async changes(since: Cursor): Promise<ChangesPage> {
    const { body } = await this.request("get", "changes", undefined, { searchParams: { since } });
    const { cursor, changed, live, removed, log, more, resync } = body;
    if (!Array.isArray(changed)) throw malformed();
    if (isLogCursor(cursor) && isIds(removed) && isFlag(more) && isFlag(resync)) {
      return { cursor, changed: this.sessions(changed), removed, more: !!more, resync: !!resync };
    }
    if (isFiniteNumber(cursor) && isIds(live) && (log === undefined || isLogCursor(log))) {
      return { cursor: log ?? cursor, changed: this.sessions(changed), live };
    }
    throw malformed();
  }

  /**
   * Every live session, read a page of `GET /v1/sessions` at a time, after a cursor of
   * `GET /v1/changes`: the log's head (what is written while the pages are read comes again in
   * the next `since(cursor)`), or a clock cursor, which trails the server's clock by seconds
   * (clients keep the higher version).
   */
  async snapshot(): Promise<Changes> {
    // ky leaves out a search parameter that is `undefined`.
    const page = (next?: string) =>
      this.request("get", "sessions", undefined, { searchParams: { next } });
    // The head before the first page: a write after it is in the log after the cursor.
    const { cursor } = await this.changes(NO_CHANGES);
    const byId = new Map<string, Incoming>();
    let { body } = await page();
    let sent: unknown;
    for (;;) {
      const { sessions, next } = body;
      // The same `next` again would never end.
      if (!Array.isArray(sessions) || (next !== undefined && next === sent)) throw malformed();
      for (const session of this.sessions(sessions)) byId.set(session.record.id, session);
      if (next === undefined) break;
      sent = next;
      ({ body } = await page(String(next)));
    }
    return { cursor, changed: [...byId.values()], live: [...byId.keys()] };
  }

  /**
   * Opens `GET /v1/events` after `lastEventId`, and resolves to its body, the stream: no time
   * limit and no retry (the caller reconnects), the token as for every call (a token function
   * asked again once on 401). Rejects with `AuthError` on 401, else `BackendError` with the
   * status (501: the server has no feed; 429: too many streams).
   */
  async events(
    lastEventId: string | undefined,
    signal: AbortSignal,
  ): Promise<ReadableStream<Uint8Array>> {
    const open = async (token: string) => {
      // biome-ignore lint/style/useTemplate: a sum of strings, which the build folds into one.
      const response = await this.api(API_VERSION + "/events", {
        signal,
        timeout: false,
        retry: 0,
        throwHttpErrors: false,
        headers: {
          accept: "text/event-stream",
          authorization: `Bearer ${token}`,
          ...(lastEventId !== undefined && { "last-event-id": lastEventId }),
        },
      }).catch((error: unknown) => {
        throw unreachable(error, "get", "events");
      });
      if (response.status !== 200) await response.body?.cancel();
      return response;
    };
    if (this.closed) throw new BackendError("the remote store is closed");
    const { status, body } = await this.authorized(open);
    if (status === 200 && body) return body;
    if (status === 401) throw new AuthError("the session server refused the token");
    throw new BackendError(`the session server answered ${status} to GET events`, { status });
  }

  /**
   * Asks a token function for a new token next time (the last one may have expired); `false`
   * for a token given as a string, which cannot change.
   */
  renewToken(): boolean {
    const renews = typeof this.options.token === "function";
    if (renews) this.token = undefined;
    return renews;
  }

  /** Cancels what is in flight and whatever comes later (they reject). */
  close(): void {
    this.closed = true;
    for (const controller of this.underWay) controller.abort();
  }

  /** The server's copy in a 412's body, if it sent one. */
  private copy({ status, body }: Reply, id: string): Incoming | undefined {
    return status === 412 && body.session ? this.session(body.session, id) : undefined;
  }

  /** The session an answer about `id` carries: `BackendError` if it is not one, or another's. */
  private session(wire: unknown, id: string): Incoming {
    const session = fromWire(wire, this.clock);
    if (session.record.id === id) return session;
    throw new BackendError("the session server sent another session than asked for");
  }

  /**
   * The sessions of a list, less any under an id no session may have (one longer than 256
   * characters: a reserved id, of the outbox say, which the server refuses in a path), and less
   * any that cannot be read (data nested too deep, say), which is reported.
   */
  private sessions(list: unknown[]): Incoming[] {
    return list.flatMap((wire) => {
      try {
        const session = fromWire(wire, this.clock);
        const { id } = session.record;
        return id !== "" && id.length <= MAX_ID_LENGTH ? [session] : [];
      } catch (error) {
        this.report(error as Error);
        return [];
      }
    });
  }

  /**
   * One call, with the token attached and with the headers of `base`; a token function is
   * asked again once on 401. What is not an answer to act on rejects.
   */
  private async request(
    method: Method,
    path: string,
    base?: Base,
    options?: Options,
  ): Promise<Reply> {
    const headers =
      base === undefined ? {} : base ? { "if-match": `"${base}"` } : { "if-none-match": "*" };
    // Reads, deletes and conditional writes may be repeated: an unconditional PUT may not.
    const limit = method === "put" && base === undefined ? 0 : (this.options.retry ?? 2);
    const send = async (token: string): Promise<Reply> => {
      let retried = false;
      const controller = new AbortController();
      if (this.closed) controller.abort();
      this.underWay.add(controller);
      try {
        // biome-ignore lint/style/useTemplate: the build folds API_VERSION + "/" into one string.
        const response = await this.api(API_VERSION + "/" + path, {
          ...options,
          method,
          signal: controller.signal,
          headers: { ...headers, authorization: `Bearer ${token}` },
          retry: { limit },
          hooks: {
            beforeRetry: [
              () => {
                retried = true;
              },
            ],
          },
        });
        const body = JSON.parse((await response.text()) || "{}");
        return { status: response.status, body, retried };
      } catch (error) {
        throw unreachable(error, method, path);
      } finally {
        this.underWay.delete(controller);
      }
    };
    const reply = await this.authorized(send);
    const { status, body } = reply;
    const { code = "UNKNOWN", message = "no message" } = body.error ?? {};
    if (status < 300 || ANSWERS[status] === code) return reply;
    if (status === 401) throw new AuthError(`the session server refused the token: ${message}`);
    const Refusal = REFUSALS[status] ?? REFUSALS[code];
    if (Refusal) throw new Refusal(message);
    throw new BackendError(`the session server answered ${status} ${code}: ${message}`, { status });
  }

  /** `send` with the token; a token function is asked again once on 401, and `send` repeated. */
  private async authorized<T extends { readonly status: number }>(
    send: (token: string) => Promise<T>,
  ): Promise<T> {
    const token = await this.getToken();
    const reply = await send(token);
    if (reply.status !== 401 || typeof this.options.token !== "function") return reply;
    // A new token, unless another call got one meanwhile.
    if ((await this.token) === token) this.token = undefined;
    return send(await this.getToken());
  }

  private getToken(): Promise<string> {
    const { token } = this.options;
    // A `then` rather than a call: the `catch` then runs after `this.token` holds its promise.
    this.token ??= Promise.resolve()
      .then(() => (typeof token === "function" ? token() : token))
      .catch((error: unknown) => {
        this.token = undefined; // the next call asks again
        throw new AuthError("could not get a token for the session server", { cause: error });
      });
    return this.token;
  }
}

function sessionPath(id: string): string {
  return `sessions/${encodeURIComponent(id)}`;
}
