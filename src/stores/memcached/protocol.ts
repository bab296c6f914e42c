// Memcached's binary protocol as the store speaks it through a memjs client (memjs 1 has no CAS
// calls of its own): one connection's requests, and the key names of a namespace.
import { createHash } from "node:crypto";
import { DEFAULT_NAMESPACE } from "../../constants.ts";
import { BackendError } from "../../errors.ts";
import { driverClass, driverError } from "../driver.ts";

/**
 * What the store calls on a client handed in: a memjs `Client` has it (the store speaks the binary
 * protocol through `perform`, for CAS). Declared here so that type-checking the store needs
 * neither memjs nor `@types/memjs`.
 */
export interface MemcachedClient {
  /** The sequence number (opaque) of the client's next request. */
  readonly seq: number;
  /** Moves `seq` on, before each request. */
  incrSeq(): void;
  /** Sends one binary-protocol request and calls back with its response. */
  perform(
    key: string,
    request: Uint8Array,
    seq: number,
    callback: (error: Error | null, response?: MemcachedResponse) => void,
  ): void;
}

/** A binary-protocol response as memjs hands it to `perform`'s callback. */
export interface MemcachedResponse {
  /** The response header: its status, and the item's CAS value. */
  header: { status: number; cas: Uint8Array };
  /** The item's value. */
  val: Uint8Array;
}

export type Got = { value: string; cas: Uint8Array };

// Binary protocol opcodes and statuses (memjs 1 has no CAS calls of its own).
const GET = 0x00;
export const SET = 0x01;
export const ADD = 0x02;
const DELETE = 0x04;
const NOT_FOUND = 1;
const EXISTS = 2;
const NOT_STORED = 5;
/** What an item costs memcached beyond its key and value (header, CAS, suffix), with room to spare. */
const ITEM_OVERHEAD = 512;
const BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** Where and how to connect: the store's options that concern the connection. */
export interface ConnectionOptions {
  url?: string | undefined;
  host?: string | undefined;
  port?: number | undefined;
  timeout?: number | undefined;
  prefix?: string | undefined;
  namespace?: string | undefined;
  client?: MemcachedClient | undefined;
  itemSize?: number | undefined;
}

/** The keys of one set of records: the namespace's own (the root's), or one owner's. */
export interface Space {
  /** The item that lists the ids of the records. */
  readonly index: string;
  /** The item of the record `id`. */
  key(id: string): string;
}

/** One namespace's requests on a memjs client. */
export interface Connection {
  quit(): void;
  /** The namespace's own records. */
  readonly root: Space;
  /** The records of `owner`. */
  owner(owner: string): Space;
  /** The item of the registry of owners that lists `owner`. */
  registry(owner: string): string;
  /** Every item of the registry of owners. */
  readonly registries: string[];
  /** Whether the server stores an item of this key and value (see `itemSize`). */
  fits(key: string, bytes: number): boolean;
  gets(key: string): Promise<Got | undefined>;
  /**
   * SET or ADD, with a CAS for SET: the new item's CAS, or `false` when the key exists (ADD) or
   * changed (CAS).
   */
  store(
    opcode: number,
    key: string,
    value: string,
    exptime: number,
    cas?: Uint8Array,
  ): Promise<Uint8Array | false>;
  remove(key: string, cas?: Uint8Array): Promise<boolean>;
}

export async function createConnection(options: ConnectionOptions): Promise<Connection> {
  let client = options.client;
  // A client handed in stays connected at `close`.
  let quit = () => {};
  if (!client) {
    const own = await createClient(options);
    client = own;
    quit = () => own.quit();
  }
  const base = `${segment(options.prefix ?? "sessionmanager")}:${segment(options.namespace ?? DEFAULT_NAMESPACE)}:`;
  const request = send.bind(null, client, options.timeout ?? 2000);
  const itemSize = options.itemSize ?? 1024 * 1024;
  // `#` and `@` are not in base64url: no record key is an index, a registry or an owner's.
  const space = (head: string): Space => ({
    index: `${head}#index`,
    key: (id) => head + sha256(id),
  });
  return {
    quit,
    root: space(base),
    owner: (owner) => space(`${base}@${sha256(owner)}:`),
    registry: (owner) => `${base}#owners:${sha256(owner).charAt(0)}`,
    registries: Array.from(BASE64URL, (char) => `${base}#owners:${char}`),
    fits: (key, bytes) => Buffer.byteLength(key) + bytes + ITEM_OVERHEAD <= itemSize,
    async gets(key: string): Promise<Got | undefined> {
      const { header, val } = await request(GET, key, "", "");
      if (header.status === NOT_FOUND) return undefined;
      check(header.status, "get");
      return { value: utf8.decode(val), cas: header.cas };
    },
    /** SET or ADD, with a CAS for SET; `false` when the key exists (ADD) or changed (CAS). */
    async store(opcode: number, key: string, value: string, exptime: number, cas?: Uint8Array) {
      const extras = Buffer.alloc(8);
      extras.writeUInt32BE(exptime, 4);
      const { header } = await request(opcode, key, extras, value, cas);
      if ([EXISTS, NOT_FOUND, NOT_STORED].includes(header.status)) return false;
      check(header.status, "write");
      return header.cas;
    },
    async remove(key: string, cas?: Uint8Array) {
      const { header } = await request(DELETE, key, "", "", cas);
      if (header.status === NOT_FOUND || header.status === EXISTS) return false;
      check(header.status, "delete");
      return true;
    },
  };
}

/** A memjs client of the store's own, for `url` (or `host` and `port`). */
async function createClient(options: ConnectionOptions) {
  const Client = await loadMemjs();
  const timeout = (options.timeout ?? 2000) / 1000;
  const servers = options.url
    ? options.url.replace(/^memcached:\/\//, "").replace(/\/$/, "")
    : `${options.host ?? "localhost"}:${options.port ?? 11211}`;
  return Client.create(servers, {
    timeout,
    conntimeout: timeout,
    retries: 2,
    // memjs logs every failure with console.log by default; the calls that fail say why.
    logger: { log() {} },
  });
}

/** memjs, on first use: the name written out inside `try` (see driverError). */
async function loadMemjs() {
  try {
    return driverClass("memcached", "memjs", (await import("memjs")).Client);
  } catch (error) {
    throw driverError("memcached", "memjs", error);
  }
}

const utf8 = new TextDecoder();

/**
 * One request of the binary protocol, through memjs (which keeps the connection and retries),
 * rejected after `deadline` ms without an answer: memjs loses a request written to a socket that
 * is being cut (its close handler drops the socket's timer, so it neither answers nor times out).
 */
function send(
  client: MemcachedClient,
  deadline: number,
  opcode: number,
  key: string,
  extras: Buffer | string,
  value: string,
  cas?: Uint8Array,
): Promise<MemcachedResponse> {
  return new Promise((resolve, reject) => {
    client.incrSeq();
    const seq = client.seq;
    const request = makeRequest(opcode, key, extras, value, seq);
    // The header's CAS field (bytes 16-23): a write with it only succeeds on that version.
    if (cas) request.set(cas, 16);
    const timer = setTimeout(
      () => reject(new Error(`memcached did not answer within ${deadline} ms`)),
      deadline,
    );
    timer.unref?.();
    client.perform(key, request, seq, (error, response) => {
      clearTimeout(timer);
      if (error || !response) reject(error ?? new Error("no response"));
      else resolve(response);
    });
  });
}

/** memjs's `Utils.makeRequestBuffer`, which a shared client may not be loaded with. */
function makeRequest(
  opcode: number,
  key: string,
  extras: Buffer | string,
  value: string,
  seq: number,
) {
  const k = Buffer.from(key);
  const e = Buffer.isBuffer(extras) ? extras : Buffer.from(extras);
  const v = Buffer.from(value);
  const request = Buffer.alloc(24 + e.length + k.length + v.length);
  request.writeUInt8(0x80, 0);
  request.writeUInt8(opcode, 1);
  request.writeUInt16BE(k.length, 2);
  request.writeUInt8(e.length, 4);
  request.writeUInt32BE(e.length + k.length + v.length, 8);
  request.writeUInt32BE(seq, 12);
  e.copy(request, 24);
  k.copy(request, 24 + e.length);
  v.copy(request, 24 + e.length + k.length);
  return request;
}

function check(status: number, what: string): void {
  if (status === 0) return;
  // E2BIG: an item over the server's size limit (1 MB unless memcached runs with -I).
  const why = status === 3 ? "the value is over the server's item size limit" : `status ${status}`;
  throw new BackendError(`memcached ${what} failed: ${why}`);
}

/**
 * A key part as it is when it is short printable ASCII without `:` (nor a leading `~`), else `~`
 * and its hash: so no part is the hash of another.
 */
function segment(text: string): string {
  return /^[!-9;-}][!-9;-~]{0,63}$/.test(text) ? text : `~${sha256(text)}`;
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("base64url");
}

/** Above this many seconds, Memcached reads an exptime as a unix time, not as seconds from now. */
const MONTH = 60 * 60 * 24 * 30;

/**
 * The exptime Memcached needs for an item to live until `until` (epoch ms), seen at `now`:
 * seconds from now up to 30 days, a unix time beyond (Memcached reads anything larger as one),
 * `0` (never) past what 32 bits hold. Always rounded up, and one second more, because Memcached
 * counts time in whole seconds of its own clock: an item never vanishes early.
 */
export function memcachedExptime(until: number, now: number): number {
  const seconds = Math.max(1, Math.ceil((until - now) / 1000) + 1);
  if (seconds <= MONTH) return seconds;
  const at = Math.ceil(until / 1000) + 1;
  return at > 0xffffffff ? 0 : at;
}
