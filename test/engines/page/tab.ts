// One tab of the two-window test (test/engines/engines.ts): a manager on a namespace shared with
// the other window of the same origin, driven from Node, every event it hears written down.
import { SessionManager } from "../../../src/index.ts";

const events: string[] = [];
let sm: SessionManager | undefined;

function manager(): SessionManager {
  if (!sm) throw new Error("tab.start() first");
  return sm;
}

const tab = {
  events,
  async start(
    namespace: string,
    backend: "localStorage" | "indexedDB",
    warnBefore: number,
  ): Promise<string> {
    sm = new SessionManager({ backend, namespace, warnBefore });
    for (const event of ["added", "updated", "touched", "removed", "expiringSoon", "expired"]) {
      sm.on(event as "added", (session) =>
        events.push(`${event} ${session.id} ${JSON.stringify(session.data)}`),
      );
    }
    await sm.ready;
    return sm.status;
  },
  async add(id: string, data: unknown, ttl: number): Promise<void> {
    await manager().add(id, { data, ttl });
  },
  async update(id: string, data: unknown): Promise<void> {
    await manager().update(id, data);
  },
  async remove(id: string): Promise<void> {
    await manager().remove(id);
  },
  async has(id: string): Promise<boolean> {
    return manager().has(id);
  },
  async close(): Promise<void> {
    await sm?.close();
  },
};

(window as unknown as { tab: typeof tab }).tab = tab;
