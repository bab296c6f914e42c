// The puller: asks the server what changed since the last pull and follows it locally, except
// for the sessions whose writes are still queued here (they go out first, and win or lose on
// the server).
import { isReservedId } from "../constants.ts";
import type { SessionRecord } from "../stores/types.ts";
import type { Changes } from "./answers.ts";
import { differs, EXPIRY_MARGIN_MS } from "./changes.ts";
import { idOf } from "./outbox.ts";
import type { SyncParts } from "./parts.ts";

/**
 * Asks the server what changed and follows it locally, except where writes are queued. The
 * first pull (no cursor yet) reads every session, a page at a time. The client leaves out
 * whatever the server sends under an id no session may have: a record planted under the
 * outbox's id, say, never reaches the local store; one it cannot read is reported.
 */
export async function pull(r: SyncParts): Promise<void> {
  r.client.report = (error) => r.context.report(error);
  const changes = await r.client.since((await r.outbox.read()).cursor);
  await r.exclusive(async () => {
    const pending = new Set((await r.outbox.read()).ops.map(idOf));
    if (pending.has(undefined)) return; // a queued clear goes out first
    const keep = Date.now() + EXPIRY_MARGIN_MS;
    // The server's copy of each session not queued here, where it is another state. One this
    // replica does not have and that is about to expire is not taken: it is most likely one
    // this replica's sweep just ended, still live on the server by the clocks' disagreement,
    // and taking it would end it a second time.
    for (const { record: server } of changes.changed) {
      if (pending.has(server.id)) continue;
      const current = await r.local.get(server.id);
      if (current ? differs(current, server) : server.expiresAt > keep) {
        await r.adopt(current, server);
      }
    }
    // Removed on the server (by another client): removed here.
    for (const current of await gone(r, changes)) {
      const { id } = current;
      if (!(isReservedId(id) || pending.has(id)) && current.expiresAt > keep) {
        await r.adopt(current, undefined);
      }
    }
    await r.outbox.setCursor(changes.cursor);
  });
}

/**
 * The local sessions the server no longer has: those it does not list as live (a clock answer,
 * a snapshot), or those it removed since the cursor (a log answer).
 */
async function gone(r: SyncParts, { live, removed = [] }: Changes): Promise<SessionRecord[]> {
  if (live) {
    const listed = new Set(live);
    return (await r.local.list()).filter((current) => !listed.has(current.id));
  }
  const found = await Promise.all(removed.map((id) => r.local.get(id)));
  return found.filter((current) => current !== undefined);
}
