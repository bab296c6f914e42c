// Server rendering: the hooks render what a page shows before anything is loaded, and read no
// storage (a server has none of the user's), so that the client's hydration matches.
import { createElement } from "react";
import { renderToString } from "react-dom/server";
import { afterEach, describe, expect, it } from "vitest";
import { SessionManager as CoreSessionManager } from "../../src/manager.ts";
import {
  type ManagerLike,
  useExpiringSoon,
  useManagerStatus,
  useSession,
  useSessions,
  useTimeLeft,
} from "../../src/react/index.ts";
import { SessionManager } from "../../src/root-manager.ts";
import { memoryStore } from "../../src/stores/memory.ts";
import type { SessionStore } from "../../src/stores/types.ts";
import { listening } from "../bindings/listening.ts";

/** A memory store that counts its reads. */
function countingStore(): { store: SessionStore; reads: { get: number; list: number } } {
  const inner = memoryStore();
  const reads = { get: 0, list: 0 };
  const store: SessionStore = {
    ...inner,
    name: "counting",
    get(id) {
      reads.get++;
      return inner.get(id);
    },
    list() {
      reads.list++;
      return inner.list();
    },
  };
  return { store, reads };
}

function Page({ manager, id }: { manager: ManagerLike<{ name: string }>; id: string }) {
  const session = useSession(manager, id);
  const sessions = useSessions(manager);
  const left = useTimeLeft(manager, id);
  const status = useManagerStatus(manager);
  useExpiringSoon(manager, () => {
    throw new Error("no warning is heard while rendering on the server");
  });
  return createElement(
    "p",
    null,
    `${session?.data.name ?? "nobody"}|${sessions.length}|${left ?? "-"}|${status}`,
  );
}

function NoId({ manager }: { manager: ManagerLike }) {
  const a = useSession(manager, null);
  const b = useTimeLeft(manager, undefined);
  return createElement("i", null, `${a}|${b}`);
}

function BadInterval({ manager }: { manager: ManagerLike }) {
  useTimeLeft(manager, "a", { interval: 0 });
  return null;
}

const closing: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const sm of closing.splice(0)) await sm.close();
});

describe("server rendering", () => {
  for (const [name, Manager] of [
    ["root", SessionManager],
    ["core", CoreSessionManager],
  ] as const) {
    it(`renders the nothing-loaded values and reads no storage (${name} manager)`, async () => {
      const { store, reads } = countingStore();
      const sm = new Manager<{ name: string }>({ backend: store });
      closing.push(sm);
      await sm.add("ada", { data: { name: "Ada" } });
      const asked = listening(sm);
      const before = { ...reads };

      const html = renderToString(createElement(Page, { manager: sm, id: "ada" }));
      expect(html).toBe("<p>nobody|0|-|loading</p>");
      await new Promise((resolve) => setTimeout(resolve, 10));
      expect(reads).toEqual(before);
      expect(asked.calls).toEqual({ get: 0, list: 0, on: 0 });
    });
  }

  it("renders the same before the manager has loaded", async () => {
    const { store } = countingStore();
    const sm = new SessionManager<{ name: string }>({ backend: store });
    closing.push(sm);
    const asked = listening(sm);
    const html = renderToString(createElement(Page, { manager: sm, id: "ada" }));
    expect(html).toBe("<p>nobody|0|-|loading</p>");
    await sm.ready;
    expect(asked.calls).toEqual({ get: 0, list: 0, on: 0 });
  });

  it("renders nothing for a null or undefined id", () => {
    const sm = new SessionManager();
    closing.push(sm);
    expect(renderToString(createElement(NoId, { manager: sm }))).toBe("<i>undefined|undefined</i>");
  });

  it("throws a RangeError for an interval that is not a number of ms", () => {
    const sm = new SessionManager();
    closing.push(sm);
    expect(() => renderToString(createElement(BadInterval, { manager: sm }))).toThrow(
      new RangeError("interval must be 1 to 2^31 - 1 ms, got 0"),
    );
  });
});
