// The remote store: sessions kept by a sessionmanager server, through the client of client.ts.
// The server is the authority on versions and times (the client converts them into the local
// clock); this file maps its answers onto the store contract, and remembers what it saw, so
// that the manager can tell a session that expired on the server from one removed there.
import { parseDuration } from "../duration.ts";
import type { SessionRecord, SessionStore, StoreContext, WriteCondition } from "../stores/types.ts";
import type { Cursor } from "./answers.ts";
import { announce, EXPIRY_MARGIN_MS } from "./changes.ts";
import { type Base, baseOf, RemoteClient } from "./client.ts";
import type { Incoming } from "./clock.ts";
import { follow } from "./live.ts";
import type { RemoteOptions } from "./options.ts";
import { coalesce, poll } from "./poll.ts";

/**
 * A store whose records live on a sessionmanager server: the server sets versions and times
 * and expires sessions by itself; the store converts its times into the local clock.
 * @example
 * new SessionManager({ backend: remoteStore({ url: "https://example.com/api", token: getToken }) })
 */
export function remoteStore(options: RemoteOptions): SessionStore {
  const pullMs = parseDuration(options.pullInterval ?? "30s", "pullInterval");
  return new RemoteStore(new RemoteClient(options), pullMs, options.live !== false);
}

/** What the store knows of a session: the record it hands out, and which server state it is. */
type Known = { readonly record: SessionRecord; readonly stamp: number };

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
  private context: StoreContext | undefined;
  // Pulls start once the manager has listed the sessions: before, every one would be news.
  private listed = false;
  private stopPulling: (() => void) | undefined;
  // Where the next pull asks for changes from (`GET /v1/changes?since=`): set by every list.
  private cursor: Cursor | undefined;

  constructor(
    private readonly client: RemoteClient,
    private readonly pullMs: number,
    private readonly live: boolean,
  ) {}

  /**
   * Follows other clients' changes: a pull every `pullInterval`, one on wake, and one for each
   * event of the stream (`live`).
   */
  open(context: StoreContext): void {
    this.context = context;
    this.client.report = (error) => context.report(error);
    // A pull that fails (offline, say) is not reported: the next one tries again, and the
    // manager's own calls report what is wrong. One at a time, and one more after it.
    const pull = coalesce(() => this.pull().catch(() => {}));
    const stopPolling = poll(pull, this.pullMs);
    const stopLive = this.live ? follow(this.client, pull) : undefined;
    this.stopPulling = () => {
      stopPolling();
      stopLive?.();
    };
  }

  async get(id: string): Promise<SessionRecord | undefined> {
    const found = await this.client.get(id);
    return found ? this.remember(found) : this.expiredCopy(id);
  }

  async set(record: SessionRecord, condition?: WriteCondition): Promise<boolean> {
    const base = baseOf(condition);
    // The server cannot hold an expired session: writing one is writing its absence.
    if (record.expiresAt <= Date.now()) return this.setExpired(record, base);
    let outcome = await this.client.put(record, base);
    // Replacing a copy that expired (which the server then dropped) is creating the id anew.
    if (!outcome.ok && !outcome.session && base && this.expiredCopy(record.id)?.version === base) {
      outcome = await this.client.put(record, 0);
    }
    if (!outcome.ok) return this.refused(outcome.session);
    // The server kept the write as sent: hand back the record the manager made (times in its
    // own clock), not the same state stamped a few milliseconds apart.
    if (outcome.echoed) this.keep(record, outcome.session.wire.updatedAt);
    else this.remember(outcome.session);
    return true;
  }

  async delete(id: string, condition?: { readonly ifVersion: number }): Promise<boolean> {
    const outcome = await this.client.delete(id, condition?.ifVersion);
    if (typeof outcome === "object") return this.refused(outcome.session);
    const expired = this.expiredCopy(id);
    this.known.delete(id);
    // Gone already: the server expired it. Deleted, for a copy this client saw expire.
    return outcome || (!!expired && (!condition || expired.version === condition.ifVersion));
  }

  /** Every live session, a page at a time (`GET /v1/sessions`, following `next`). */
  async list(): Promise<SessionRecord[]> {
    const { cursor, changed } = await this.client.snapshot();
    this.cursor = cursor;
    const records = changed.map((s) => this.remember(s));
    this.listed = true;
    const listed = new Set(records.map((r) => r.id));
    // Deleting from a Map while iterating it is safe: the loop goes on with the next key.
    for (const id of this.known.keys()) {
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
    const removed: SessionRecord[] = [];
    for (const r of await this.list()) {
      if (r.expiresAt <= now && (await this.delete(r.id, { ifVersion: r.version })))
        removed.push(r);
    }
    return removed;
  }

  close(): void {
    this.stopPulling?.();
    this.client.close();
  }

  /**
   * Asks the server what changed since the last list or pull and tells the manager what changed
   * since this store last saw it: added, touched, updated or removed by another client. What
   * this store wrote while the answer was on its way is left as it is: its own copy is newer.
   */
  private async pull(): Promise<void> {
    if (!this.listed || !this.context?.changed) return;
    const before = new Map(this.known);
    const answer = await this.client.since(this.cursor);
    this.cursor = answer.cursor;
    const keep = Date.now() + EXPIRY_MARGIN_MS;
    for (const incoming of answer.changed) {
      const { record, wire } = incoming;
      const seen = this.known.get(record.id);
      if (seen !== before.get(record.id)) continue; // written here meanwhile
      if (
        seen
          ? seen.record.version === wire.version && seen.stamp === wire.updatedAt
          : record.expiresAt <= keep
      ) {
        continue; // nothing new, or about to expire anyway
      }
      announce(this.context, seen?.record, this.remember(incoming));
    }
    // Gone: not listed as live (a clock answer), or removed since the cursor (a log answer).
    const { live, removed = [] } = answer;
    const listed = live && new Set(live);
    const gone = listed ? [...before.keys()].filter((id) => !listed.has(id)) : removed;
    for (const id of gone) {
      const seen = before.get(id);
      if (!seen || this.known.get(id) !== seen || seen.record.expiresAt <= keep) continue;
      this.known.delete(id);
      announce(this.context, seen.record, undefined);
    }
  }

  /** The copy to hand out: the one this store knows, while the server's is still that state. */
  private remember({ record, wire }: Incoming): SessionRecord {
    const known = this.known.get(record.id);
    if (known?.record.version === wire.version && known.stamp === wire.updatedAt) {
      return known.record;
    }
    this.keep(record, wire.updatedAt);
    return record;
  }

  private keep(record: SessionRecord, stamp: number): void {
    this.known.set(record.id, { record, stamp });
  }

  /** A refused write: the server's copy, when it sent one, is the one to know. */
  private refused(session: Incoming | undefined): false {
    if (session) this.remember(session);
    return false;
  }

  /** The last copy seen of a session the server no longer has, if it has expired since. */
  private expiredCopy(id: string): SessionRecord | undefined {
    const known = this.known.get(id)?.record;
    if (known && known.expiresAt <= Date.now()) return known;
    this.known.delete(id); // removed elsewhere (or never seen)
    return undefined;
  }

  /** Writes an expired record: the server is to hold no live session with its id. */
  private async setExpired(record: SessionRecord, base: Base): Promise<boolean> {
    const { id } = record;
    // Without a condition a delete is never refused: whatever it finds, the id is free.
    let written = true;
    if (base === undefined) await this.client.delete(id);
    else if (!base) written = !(await this.client.get(id)) && !this.expiredCopy(id);
    else if (this.expiredCopy(id)?.version !== base) {
      written = (await this.client.delete(id, base)) === true;
    }
    if (written) this.keep(record, Number.NaN);
    return written;
  }
}
