// What a store and a manager on a network service must do while it is away (an `Outage` proxy
// stopped) and once it is back: the same for PostgreSQL, Redis and Memcached.
import { expect } from "vitest";
import { BackendError, type SessionManager } from "../../src/index.ts";
import type { SessionStore } from "../../src/stores/types.ts";
import { rec } from "./records.ts";
import { eventually, type Outage, timed } from "./services.ts";

/**
 * With the service away, a read and a write on `store` (opened through `outage`) reject within
 * `ms`; once it is back, what was written before reads again. Leaves the outage stopped.
 */
export async function expectStoreOutage(
  store: SessionStore,
  outage: Outage,
  ms: number,
): Promise<void> {
  await store.set(rec("before"));
  await outage.stop();
  for (const call of [() => store.get("before"), () => store.set(rec("during"))]) {
    const down = await timed(Promise.resolve(call()));
    expect(down.error).toBeInstanceOf(Error);
    expect(down.ms).toBeLessThan(ms);
  }
  await outage.start();
  expect((await eventually(async () => store.get("before")))?.id).toBe("before");
  await outage.stop();
}

/**
 * With the service away, `sm` (on a store through `outage`) fails with BackendError; once it is
 * back, the session it added before is there again. Closes `sm`, leaves the outage stopped.
 */
export async function expectManagerOutage(sm: SessionManager, outage: Outage): Promise<void> {
  await sm.add("x");
  await outage.stop();
  const error = await sm.get("x").catch((e: unknown) => e);
  expect(error).toBeInstanceOf(BackendError);
  await outage.start();
  expect(await eventually(() => sm.has("x"))).toBe(true);
  await sm.close();
  await outage.stop();
}
