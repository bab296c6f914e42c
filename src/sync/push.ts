// The pusher: sends the outbox's writes to the server in order, a few sessions at a time, and
// settles each answer locally. A write the server took leaves the queue; a write that lost
// leaves it with every later write of its session, the server's copy replaces the local one,
// and the loss is reported as a `ConflictError`. A write the server refuses for good (400, 403,
// 413: its content, the owner's quota) is lost the same way, reported as the server's error.
import { BackendError, ConflictError, SessionError } from "../errors.ts";
import type { SessionRecord } from "../stores/types.ts";
import { idOf, type Op, runnable } from "./outbox.ts";
import type { SyncParts } from "./parts.ts";

/** A write that lost: to the server's copy, or because the server will never take it. */
type Lost = {
  /** The session it was a write of. */
  readonly id: string;
  readonly server: SessionRecord | undefined;
  /** Reported instead of a `ConflictError`. */
  readonly error?: Error;
};
/** The server's answer to a queued write: `undefined` taken, `"again"` to be sent again, or lost. */
type Outcome = undefined | "again" | Lost;

/**
 * Sends the queue in order, a few sessions at a time; stops at the first failure. A write the
 * server took with its own times (it caps a session's ttl) leaves the queue as any other: the
 * pull that follows brings its copy.
 */
export async function push(r: SyncParts): Promise<void> {
  for (;;) {
    const batch = runnable((await r.outbox.read()).ops);
    if (batch.length === 0) return;
    const done: number[] = [];
    let failure: unknown;
    await Promise.all(
      batch.map(async (op) => {
        try {
          const outcome = await send(r, op);
          if (!outcome) done.push(op.n);
          else if (outcome !== "again") await r.exclusive(() => lose(r, op, outcome));
        } catch (error) {
          failure ??= error;
        }
      }),
    );
    await r.exclusive(() => r.outbox.remove((op) => done.includes(op.n)));
    if (failure !== undefined) throw failure;
  }
}

// Answers that refuse a write for what it is (400 a bad request, 403 over the owner's quota,
// 413 too large): sending it again can only get the same answer.
const FOR_GOOD = new Set([400, 403, 413]);

/** One queued write to the server, and what came of it. */
async function send(r: SyncParts, op: Op): Promise<Outcome> {
  try {
    return await attempt(r, op);
  } catch (error) {
    // Not the server's copy but the write itself (its data, ttl or id, the owner's quota): the
    // server will never take it, and its copy stands. A clear is not refused for what it is.
    const id = "clear" in op ? undefined : "del" in op ? op.del : op.put.id;
    if (id === undefined || !refusedForGood(error)) throw error;
    return { id, server: (await r.client.get(id))?.record, error: error as Error };
  }
}

/** Whether the server refused a write in a way that sending it again cannot change. */
function refusedForGood(error: unknown): boolean {
  if (error instanceof BackendError) return FOR_GOOD.has(error.status ?? 0);
  return (
    error instanceof SessionError &&
    (error.code.startsWith("INVALID_") || error.code === "QUOTA_EXCEEDED")
  );
}

/** Sends one queued write; a refusal for good rejects. */
async function attempt({ client }: SyncParts, op: Op): Promise<Outcome> {
  if ("clear" in op) return void (await client.clear());
  if ("del" in op) {
    const outcome = await client.delete(op.del, op.if);
    // Refused: the session lives on in another state.
    return typeof outcome === "object" ? { id: op.del, server: outcome.session.record } : undefined;
  }
  const record = op.put;
  // Expired before it could go: nothing to send (the sweep's delete comes after it).
  if (record.expiresAt <= Date.now()) return;
  // A new session (version 1) goes as a create: whatever this client replaced locally (a session
  // it saw expire, say) the server may have dropped already, and a live one there wins.
  const base = record.version === 1 && op.if ? 0 : op.if;
  // Sent before, maybe, by a push whose answer never came: its own write counts as taken.
  const { ok, session } = await client.put(record, base, true);
  // A create refused for a live copy that expired before it could be read: again.
  if (ok) return undefined;
  return base === 0 && !session ? "again" : { id: record.id, server: session?.record };
}

/**
 * The server refused a write: its copy (or its absence) wins. The write and every later one
 * of that session leave the queue (they built on the losing copy), the local copy becomes
 * the server's, and the loss is reported.
 */
async function lose(r: SyncParts, op: Op, { id, server, error }: Lost): Promise<void> {
  await r.outbox.remove((queued) => idOf(queued) === id);
  const current = await r.local.get(id);
  await r.adopt(current, server);
  const local = current ?? ("put" in op ? op.put : undefined);
  const theirs = server ? `version ${server.version}` : "no session";
  const message = `a queued write of ${JSON.stringify(id)} lost: the server has ${theirs}, which wins`;
  r.context.report(error ?? new ConflictError(message, { id, local, server }));
}
