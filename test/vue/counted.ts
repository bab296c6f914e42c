// A manager as the Vue bindings see it (`ManagerLike`), counting the listeners they hold on it.
import type { ManagerLike } from "../../src/bindings/sources.ts";
import type { SessionManager } from "../../src/index.ts";

/**
 * `sm` behind a `ManagerLike` of its own, with a count of the listeners held on it; its `get`
 * returns a new object each time, as a store read across tabs or a network does.
 */
export function counted<Data>(sm: SessionManager<Data>): {
  manager: ManagerLike<Data>;
  listeners: () => number;
} {
  let listeners = 0;
  const hold = (off: () => void) => {
    listeners++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      listeners--;
      off();
    };
  };
  const manager = {
    get ready() {
      return sm.ready;
    },
    get status() {
      return sm.status;
    },
    get: async (id: string) => {
      const session = await sm.get(id);
      return session && { ...session };
    },
    list: () => sm.list(),
    on: (event: "added", fn: () => void) => hold(sm.on(event, fn)),
  };
  return {
    manager: manager as unknown as ManagerLike<Data>,
    listeners: () => listeners,
  };
}
