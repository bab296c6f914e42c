import type { SessionRecord } from "./types.ts";

type Entry = { record: SessionRecord; gone: boolean };

/**
 * What this tab knows of a browser store's sessions, kept right by its own writes and by the
 * other tabs' messages: reads are served from memory (a session read twice does not hit
 * IndexedDB twice), and a message that arrives before the storage it describes still wins
 * (Chromium can deliver a BroadcastChannel message to another tab before that tab sees the
 * localStorage write that preceded it). Of two versions of a session, the newer one counts:
 * a later `createdAt` (added again), else a higher `version`.
 */
export class SessionCache {
  private known = new Map<string, Entry>();

  /** The known record, `null` if known gone, `undefined` if unknown. */
  get(id: string): SessionRecord | null | undefined {
    const entry = this.known.get(id);
    return entry && (entry.gone ? null : entry.record);
  }

  /** Whether this tab already knows `record` (or a newer version of it) ended. */
  ended(record: SessionRecord): boolean {
    const entry = this.known.get(record.id);
    return !!entry?.gone && !newer(record, entry.record);
  }

  /** Learns `record` (or, with `gone`, that it ended), unless something newer is known. */
  remember(record: SessionRecord, gone = false): void {
    const entry = this.known.get(record.id);
    if (!entry || !newer(entry.record, record)) this.known.set(record.id, { record, gone });
  }

  /** Marks every known session gone (after `clear`). */
  forgetAll(): void {
    for (const entry of this.known.values()) entry.gone = true;
  }

  /**
   * The store's list with what this tab knows laid over it: the newer version of each session
   * counts; known-gone ones are left out, and forgotten once the store no longer has them.
   */
  merge(stored: SessionRecord[]): SessionRecord[] {
    const inStore = new Set<string>();
    for (const record of stored) {
      inStore.add(record.id);
      const entry = this.known.get(record.id);
      if (!entry || newer(record, entry.record)) this.known.set(record.id, { record, gone: false });
    }
    const live: SessionRecord[] = [];
    for (const [id, entry] of this.known) {
      if (!entry.gone) live.push(entry.record);
      else if (!inStore.has(id)) this.known.delete(id);
    }
    return live;
  }
}

function newer(a: SessionRecord, b: SessionRecord): boolean {
  return a.createdAt > b.createdAt || (a.createdAt === b.createdAt && a.version > b.version);
}
