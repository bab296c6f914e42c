// The pusher: sends the outbox's writes to the server in order, a few sessions at a time, and
// settles each answer locally. A write the server took leaves the queue (and the local copy
// takes the server's version and times where they differ); a write that lost leaves it with
// every later write of its session, the server's copy replaces the local one, and the loss is
// reported as a `ConflictError`.
import { ConflictError, SessionError } from "../errors.ts";
import type { SessionRecord } from "../stores/types.ts";
import { idOf, type Op, runnable, serverCondition } from "./outbox.ts";
import type { SyncParts } from "./replica.ts";

/** A write that lost: to the server's copy, or because the server will never take it. */
type Lost = {
  readonly server: SessionRecord | undefined;
  /** Reported instead of a `ConflictError`. */
  readonly error?: Error;
  /** Nothing to report: the sweep's delete lost to a copy that lives on. */
  readonly quiet?: boolean | undefined;
};
/**
 * The server's answer to a queued write: `undefined` taken as it was sent, `"again"` to be sent
 * again, `taken` taken with the server's own version or times, or lost.
 */
type Outcome = undefined | "again" | { readonly taken: SessionRecord } | Lost;

/** Sends the queue in order, a few sessions at a time; stops at the first failure. */
export async function push(r: SyncParts): Promise<void> {
  for (;;) {
    const batch = runnable((await r.outbox.read()).ops);
    if (batch.length === 0) return;
    const settled = await Promise.allSettled(batch.map((op) => send(r, op)));
    const done: number[] = [];
    let failure: unknown;
    for (const [i, result] of settled.entries()) {
      const op = batch[i] as Op;
      if (result.status === "rejected") failure ??= result.reason;
      else if (result.value === undefined) done.push(op.n);
      else if (result.value !== "again") await settle(r, op, result.value);
    }
    if (done.length > 0) await r.exclusive(() => r.outbox.remove(done));
    if (failure !== undefined) throw failure;
  }
}

/** One queued write to the server, and what came of it. */
async function send({ client }: SyncParts, op: Op): Promise<Outcome> {
  if ("clear" in op) {
    await client.clear();
    return;
  }
  const condition = serverCondition(op);
  if ("del" in op) {
    const outcome = await client.delete(op.del, condition);
    // The sweep's delete lost to a newer copy: the session lives on, and no write was lost.
    return typeof outcome === "object"
      ? { server: outcome.session.record, quiet: op.swept }
      : undefined;
  }
  const record = op.put;
  // Expired before it could go: nothing to send (the sweep's delete comes after it).
  if (record.expiresAt <= Date.now()) return;
  try {
    // Sent before, maybe, by a push whose answer never came: its own write counts as taken.
    const outcome = await client.put(record, condition, true);
    if (outcome.ok) return outcome.echoed ? undefined : { taken: outcome.session.record };
    // A create refused for a live copy that expired before it could be read: again.
    if (condition && "ifAbsent" in condition && !outcome.session) return "again";
    return { server: outcome.session?.record };
  } catch (error) {
    // Not the server's copy but the write's own content (its data, ttl or id): the server
    // will never take it, and its copy stands.
    if (!(error instanceof SessionError && error.code.startsWith("INVALID_"))) throw error;
    return { server: (await client.get(record.id))?.record, error };
  }
}

/**
 * Applies an answer locally, as one step: a write that went through leaves the queue, and the
 * local copy takes the server's version and times if it is still the one pushed.
 */
function settle(
  r: SyncParts,
  op: Op,
  outcome: Exclude<Outcome, undefined | "again">,
): Promise<void> {
  return r.exclusive(async () => {
    if (!("taken" in outcome)) return lose(r, op, outcome);
    await r.outbox.remove([op.n]);
    const { put } = op as Extract<Op, { put: SessionRecord }>; // only a put is `taken`
    const current = await r.local.get(put.id);
    if (current?.version === put.version && current.updatedAt === put.updatedAt) {
      await r.adopt(current, outcome.taken);
    }
  });
}

/**
 * The server refused a write: its copy (or its absence) wins. The write and every later one
 * of that session leave the queue (they built on the losing copy), the local copy becomes
 * the server's, and the loss is reported unless it was the sweep's.
 */
async function lose(r: SyncParts, op: Op, { server, error, quiet }: Lost): Promise<void> {
  const id = idOf(op) as string;
  await r.outbox.removeId(id);
  const current = await r.local.get(id);
  await r.adopt(current, server);
  if (quiet) return;
  const local = current ?? ("put" in op ? op.put : undefined);
  const theirs = server ? `version ${server.version}` : "no session";
  const message = `a queued write of ${JSON.stringify(id)} lost: the server has ${theirs}, which wins`;
  r.context.report(error ?? new ConflictError(message, { id, local, server }));
}
