import { isThenable } from "../awaitable.ts";
import { BackendError, SessionError } from "../errors.ts";
import { memoryStore } from "./memory.ts";
import type { Awaitable, SessionStore } from "./types.ts";

/** The backends this build knows by name; any `SessionStore` object works as well. */
export type BackendName = "memory";

/** The store that `backend` names (or is), wrapped by `guard`. */
export function resolveBackend(options: {
  backend?: BackendName | SessionStore;
  namespace?: string;
}): SessionStore {
  const { backend = "memory", namespace = "sessionmanager" } = options;
  if (typeof backend === "object" && backend !== null) return guard(backend);
  if (backend === "memory") return guard(memoryStore({ namespace }));
  throw new BackendError(
    `unknown backend ${JSON.stringify(backend)}; expected "memory" or a SessionStore`,
  );
}

/** Wraps a store so that whatever it throws or rejects with surfaces as `BackendError`. */
function guard(store: SessionStore): SessionStore {
  const wrap = (error: unknown): never => {
    if (error instanceof SessionError) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw new BackendError(`${store.name} store failed: ${reason}`, { cause: error });
  };
  const guarded: Record<string, unknown> = { name: store.name, capabilities: store.capabilities };
  const methods = ["get", "set", "delete", "list", "clear", "purgeExpired", "close"] as const;
  for (const method of methods) {
    const fn = store[method] as ((a?: unknown, b?: unknown) => Awaitable<unknown>) | undefined;
    // Two fixed parameters (no store method takes more): no rest array on every call.
    guarded[method] =
      fn &&
      ((a?: unknown, b?: unknown) => {
        try {
          const result = fn.call(store, a, b);
          return isThenable(result) ? Promise.resolve(result).then(undefined, wrap) : result;
        } catch (error) {
          return wrap(error);
        }
      });
  }
  return guarded as unknown as SessionStore;
}
