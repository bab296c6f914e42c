// Session-id rotation (against session fixation): the session moves to a fresh id, the old id
// stops working. Stores have no rename, so it is two conditional writes, made in the order that
// never loses the session: the new id first, then the old one deleted at the version read.
import { ConflictError, shortId } from "./errors.ts";
import { createSessionId, live, record } from "./session.ts";
import type { SessionRecord } from "./types.ts";
import type { Vault } from "./vault.ts";

/**
 * Moves the live session `id` to a new `createSessionId()`, with its data, createdAt, expiresAt,
 * ttl and maxAge (version 1: a new id); resolves to `[moved, previous]`. The new record is
 * written `ifAbsent`, then the old deleted `ifVersion`: if the old changed meanwhile (another
 * writer touched or updated it) the new one is deleted again and the move starts over from a
 * fresh read, so no write to the old id is lost; `ConflictError` after five such attempts,
 * `SessionNotFoundError` once the old id has no live session. If the delete fails (the store is
 * down), the new record is deleted again where it can be and the error thrown: the session stays
 * under its old id. Encrypted data is sealed anew, under the new id (the vault binds the id).
 */
export async function rotateRecord(
  store: Vault,
  id: string,
): Promise<[SessionRecord, SessionRecord]> {
  // An old id that keeps changing between the read and the delete means another writer on it.
  // (A literal, not a module constant: a one-file page would set that in the module's wrapper.)
  for (let attempt = 0; attempt < 5; attempt++) {
    const current = live(id, await store.get(id), Date.now());
    const { data, createdAt, expiresAt, ttl, maxAge } = current;
    const moved = record(createSessionId(), data, createdAt, Date.now(), expiresAt, ttl, 1, maxAge);
    // A fresh id taken already is all but impossible (128 random bits): then another one.
    if (!(await store.set(moved, { ifAbsent: true }))) continue;
    const undo = () => store.delete(moved.id, { ifVersion: 1 });
    let deleted: boolean;
    try {
      deleted = await store.delete(id, { ifVersion: current.version });
    } catch (error) {
      await Promise.resolve(undo()).catch(() => {});
      throw error;
    }
    if (deleted) return [moved, current];
    await undo();
  }
  throw new ConflictError(`rotate of ${shortId(id)} kept losing to other writers`);
}
