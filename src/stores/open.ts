import { isThenable } from "../awaitable.ts";
import { DEFAULT_NAMESPACE } from "../constants.ts";
import { BackendError, SessionError } from "../errors.ts";
import { memoryStore } from "./memory.ts";
import type { Awaitable, SessionStore, StoreContext } from "./types.ts";

/**
 * Opens the store that `makeStore` makes. A browser store that cannot work is replaced by the
 * memory store, and `degraded` says why; a server store that is down is not (it must not
 * quietly keep sessions in one process's memory): the failure is reported, and its calls fail
 * until it works.
 */
export async function openStore(
  makeStore: () => Promise<SessionStore>,
  context: StoreContext,
  namespace: string = DEFAULT_NAMESPACE,
): Promise<{ store: SessionStore; degraded?: Error }> {
  let store: SessionStore | undefined;
  try {
    store = await makeStore();
    await store.open?.(context);
    return { store };
  } catch (error) {
    if (store?.capabilities?.fallback) {
      return { store: guard(memoryStore({ namespace })), degraded: error as Error };
    }
    context.report(error as Error);
    return { store: store ?? unavailableStore(error) };
  }
}

/** A store that cannot work (a driver is missing, say): every call rejects with why. */
export function unavailableStore(error: unknown): SessionStore {
  const fail = async (): Promise<never> => {
    throw error;
  };
  return guard({
    name: "unavailable",
    get: fail,
    set: fail,
    delete: fail,
    list: fail,
    clear: fail,
    purgeExpired: fail,
  });
}

/**
 * Wraps a store so that whatever it throws or rejects with surfaces as `BackendError`. The
 * partitions a store gives are wrapped where they are taken (`partitionOf`, the server's), so
 * that no page carries that code.
 */
export function guard(store: SessionStore): SessionStore {
  return guardMethods(store, store.name, {
    name: store.name,
    capabilities: store.capabilities,
  }) as unknown as SessionStore;
}

// The methods of a store and of a partition: what an object lacks stays undefined.
const METHODS = [
  "open",
  "get",
  "set",
  "delete",
  "list",
  "listPrefix",
  "listPage",
  "partition",
  "count",
  "changes",
  "watch",
  "clear",
  "purgeExpired",
  "close",
] as const;

/**
 * `target` with the methods of `object` (a store, or a partition of the store called `name`),
 * each wrapped so that what it throws or rejects with surfaces as `BackendError`.
 */
export function guardMethods(
  object: object,
  name: string,
  target: Record<string, unknown>,
): Record<string, unknown> {
  const wrap = (error: unknown): never => {
    if (error instanceof SessionError) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw new BackendError(`${name} store failed: ${reason}`, { cause: error });
  };
  for (const method of METHODS) {
    const fn = (object as Record<string, unknown>)[method] as
      | ((a?: unknown, b?: unknown, c?: unknown) => Awaitable<unknown>)
      | undefined;
    // Three fixed parameters (no store method takes more): no rest array on every call.
    target[method] =
      fn &&
      ((a?: unknown, b?: unknown, c?: unknown) => {
        try {
          const result = fn.call(object, a, b, c);
          return isThenable(result) ? Promise.resolve(result).then(undefined, wrap) : result;
        } catch (error) {
          return wrap(error);
        }
      });
  }
  return target;
}
