// The manager with `remote` beside a local backend, and with `backend: "remote"`: chosen by
// options as users write them, against the real server in process.
import { afterAll, describe, expect, it } from "vitest";
import { type Duration, type Session, SessionManager } from "../../src/index.ts";
import { IN_PROCESS_URL, inProcessServer, tokenFor } from "../helpers/sync-server.ts";

const { server, fetch } = inProcessServer();
afterAll(() => server.close());

const key = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, [
  "encrypt",
  "decrypt",
]);

function client(
  sub: string,
  options: { encrypted?: boolean; backend?: "memory" | "remote"; pull?: Duration } = {},
) {
  return new SessionManager<{ user: string }>({
    backend: options.backend ?? "memory",
    remote: {
      url: IN_PROCESS_URL,
      token: () => tokenFor(sub),
      fetch,
      pullInterval: options.pull ?? "1h",
    },
    ...(options.encrypted ? { encryption: { key } } : {}),
  });
}

function next<T extends unknown[]>(
  sm: SessionManager<{ user: string }>,
  event: "added" | "synced",
): Promise<T> {
  return new Promise((resolve) => {
    const off = sm.on(event, ((...args: T) => {
      off();
      resolve(args);
    }) as never);
  });
}

describe("SessionManager with a remote server", () => {
  it("a replica emits synced, and follows another client's add as an added event", async () => {
    const a = client("mgr-alice");
    const b = client("mgr-alice", { pull: "50ms" }); // b pulls on its interval
    await Promise.all([a.ready, b.ready]);
    const synced = next(a, "synced");
    await a.add("s1", { data: { user: "ada" } });
    await synced; // pushed to the server
    const heard = next<[Session<{ user: string }>]>(b, "added");
    const [session] = await heard;
    expect(session).toMatchObject({ id: "s1", data: { user: "ada" } });
    expect(await b.get("s1")).toMatchObject({ data: { user: "ada" } });
    await Promise.all([a.close(), b.close()]);
  });

  it("with encryption, listeners hear plaintext data, never the JWE", async () => {
    const a = client("mgr-bob", { encrypted: true });
    const b = client("mgr-bob", { encrypted: true, pull: "50ms" });
    await Promise.all([a.ready, b.ready]);
    const synced = next(a, "synced");
    await a.add("secret", { data: { user: "eve" } });
    await synced;
    const heard = next<[Session<{ user: string }>]>(b, "added");
    const [session] = await heard;
    expect(session.data).toEqual({ user: "eve" });
    await Promise.all([a.close(), b.close()]);
  });

  it("backend: remote keeps sessions on the server only", async () => {
    const a = client("mgr-carol", { backend: "remote" });
    const added = await a.add("s1", { data: { user: "carol" }, ttl: "5m" });
    const b = client("mgr-carol", { backend: "remote" });
    expect(await b.get("s1")).toMatchObject({ data: added.data, version: 1 });
    await b.touch("s1");
    expect((await a.get("s1"))?.version).toBe(2);
    expect(await a.remove("s1")).toBe(true);
    expect(await b.get("s1")).toBeUndefined();
    await Promise.all([a.close(), b.close()]);
  });
});
