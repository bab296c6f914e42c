// The puller: asks the server what changed since the last pull and follows it locally, except
// for the sessions whose writes are still queued here (they go out first, and win or lose on
// the server).
import { isReservedId } from "../constants.ts";
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
  const { cursor } = await r.outbox.read();
  const changes = await (cursor === undefined ? r.client.snapshot() : r.client.changes(cursor));
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
    const live = new Set(changes.live);
    for (const current of await r.local.list()) {
      const { id } = current;
      const gone = !(isReservedId(id) || live.has(id) || pending.has(id));
      if (gone && current.expiresAt > keep) await r.adopt(current, undefined);
    }
    await r.outbox.setCursor(changes.cursor);
  });
}
