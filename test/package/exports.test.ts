// The built package as users get it (npm test builds first): ESM and CJS through the exports
// map by the package's own name, and both halves agree with each other.
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";

const require = createRequire(import.meta.url);

describe("package", () => {
  it("works from the ESM build", async () => {
    const { SessionManager, SessionExistsError } = await import("sessionmanager-js");
    const sm = new SessionManager({ defaultTtl: "1m" });
    await sm.add("a", { data: { n: 1 } });
    expect((await sm.get("a"))?.data).toEqual({ n: 1 });
    await expect(sm.add("a")).rejects.toBeInstanceOf(SessionExistsError);
    await sm.close();
  });

  it("works from the CJS build", async () => {
    const { SessionManager, createSessionId } = require("sessionmanager-js");
    const sm = new SessionManager();
    const id = createSessionId();
    await sm.add(id);
    expect(await sm.has(id)).toBe(true);
    await sm.close();
  });

  it("tells its errors apart across the two builds, where instanceof cannot", async () => {
    const esm = await import("sessionmanager-js");
    const cjs = require("sessionmanager-js");
    const fromCjs = await new cjs.SessionManager().get("").catch((e: unknown) => e);
    expect(fromCjs).not.toBeInstanceOf(esm.SessionError);
    expect(esm.isSessionError(fromCjs)).toBe(true);
    expect(fromCjs).toMatchObject({ name: "InvalidSessionIdError", code: "INVALID_ID" });
  });

  it("shares one copy of each error class between the entries of each build", async () => {
    // A store's BackendError must pass through the manager's guard as itself, not wrapped again.
    expect(require("sessionmanager-js/core").BackendError).toBe(
      require("sessionmanager-js").BackendError,
    );
    const esm = await import("sessionmanager-js");
    expect((await import("sessionmanager-js/core")).BackendError).toBe(esm.BackendError);
  });

  it("exports the memory store from its subpath", async () => {
    const { memoryStore } = await import("sessionmanager-js/stores/memory");
    const { SessionManager } = await import("sessionmanager-js");
    const store = memoryStore();
    const sm = new SessionManager({ backend: store });
    await sm.add("a");
    expect(store.get("a")).toMatchObject({ id: "a", version: 1 });
    expect(require("sessionmanager-js/stores/memory").memoryStore).toBeTypeOf("function");
  });
});
