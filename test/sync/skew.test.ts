// The server's clock is the authority; this one may be minutes off. Warnings must still come at
// the right moment in the server's time, for sessions read from the server and pulled from it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SessionManager } from "../../src/index.ts";
import { memoryStore } from "../../src/stores/memory.ts";
import { remoteStore } from "../../src/sync/remote.ts";
import { replicaStore } from "../../src/sync/replica.ts";
import { skewedServer, tokenFor, until } from "../helpers/sync-server.ts";

const MINUTES_5 = 5 * 60_000;
const TTL = 2000;
const WARN = 1000;
// Timers, the round trips and the offset estimate together stay well within this.
const SLACK = 400;
// Events may come later still when the machine is busy (timers fire late under load); a clock
// taken wrongly would put them 5 minutes off, so this bound still tells the two apart.
const LATE = 1000;

describe.each([
  ["ahead", MINUTES_5],
  ["behind", -MINUTES_5],
])("a server whose clock is 5 minutes %s", (_, skew) => {
  let server: { url: string; close(): void };
  beforeAll(async () => {
    server = await skewedServer(skew);
  }, 30_000);
  afterAll(() => server.close());

  it("warns and expires at the server's moment, read remotely or pulled into a replica", async () => {
    const token = await tokenFor(`skew${skew}`);
    const writer = new SessionManager({ backend: remoteStore({ url: server.url, token }) });
    // One session whose expiry this client sent (converted into the server's clock), one that
    // the server timed itself (a client without the SDK, sending only a ttl). Each was timed
    // somewhere between the moments before and after its request: on a busy machine the two
    // requests may take long enough to matter.
    const t0 = Date.now();
    await writer.add("sent", { data: 1, ttl: TTL });
    const t1 = Date.now();
    const raw = await fetch(`${server.url}/v1/sessions/timed`, {
      method: "PUT",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ data: 2, ttl: TTL }),
    });
    expect(raw.status).toBe(201);
    const made = { sent: [t0, t1], timed: [t1, Date.now()] } as const;
    const remote = new SessionManager({
      backend: remoteStore({ url: server.url, token }),
      warnBefore: WARN,
    });
    const replica = new SessionManager({
      backend: replicaStore(memoryStore(), { url: server.url, token }),
      warnBefore: WARN,
    });
    const heard: Record<string, number> = {};
    const times: Record<string, number> = {};
    const hear = (key: string) => {
      heard[key] = Date.now();
      times[key] = (times[key] ?? 0) + 1;
    };
    for (const [name, sm] of [
      ["remote", remote],
      ["replica", replica],
    ] as const) {
      sm.onExpiringSoon((s) => hear(`${name} ${s.id} soon`));
      sm.onExpired((s) => hear(`${name} ${s.id} expired`));
    }
    await until(async () => (await replica.list()).length === 2);
    // In the local clock: about creation + ttl, not 5 minutes off.
    for (const sm of [remote, replica]) {
      for (const session of await sm.list()) {
        const [from, to] = made[session.id as keyof typeof made];
        expect(session.expiresAt).toBeGreaterThanOrEqual(from + TTL - SLACK);
        expect(session.expiresAt).toBeLessThan(to + TTL + SLACK);
      }
    }
    await until(() => Object.keys(heard).length === 8, TTL + 2 * LATE);
    // Each once: a replica's pull must not bring back a session its sweep just ended, which the
    // server, by the clocks' disagreement, still had for a few milliseconds.
    await new Promise((done) => setTimeout(done, SLACK));
    expect(Object.values(times)).toEqual(Array(8).fill(1));
    for (const name of ["remote", "replica"]) {
      for (const [id, [from, to]] of Object.entries(made)) {
        expect(heard[`${name} ${id} soon`]).toBeGreaterThanOrEqual(from + TTL - WARN - SLACK);
        expect(heard[`${name} ${id} soon`]).toBeLessThan(to + TTL - WARN + LATE);
        expect(heard[`${name} ${id} expired`]).toBeGreaterThanOrEqual(from + TTL - SLACK);
        expect(heard[`${name} ${id} expired`]).toBeLessThan(to + TTL + LATE);
      }
    }
    for (const sm of [writer, remote, replica]) await sm.close();
  }, 15_000);
});
