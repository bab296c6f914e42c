// biome-ignore-all lint/correctness/useHookAtTopLevel: Vue composables, not React hooks (they run
// in any effect scope, and so does vitest's useFakeClock helper).
// The Vue composables under server rendering (createSSRApp + renderToString): a component that
// uses them renders their initial values, and nothing subscribes, holds a listener or reads
// the store.
import { afterEach, describe, expect, it } from "vitest";
import { createSSRApp, defineComponent, h, ref } from "vue";
import { renderToString } from "vue/server-renderer";
import type { ManagerLike } from "../../src/bindings/sources.ts";
import { SessionManager } from "../../src/index.ts";
import { memoryStore } from "../../src/stores/memory.ts";
import type { SessionStore } from "../../src/stores/types.ts";
import {
  useExpiringSoon,
  useManagerStatus,
  useSession,
  useSessions,
  useTimeLeft,
} from "../../src/vue/index.ts";
import { counted } from "./counted.ts";

type Data = { name: string } | null;

const managers: SessionManager<Data>[] = [];
afterEach(async () => {
  for (const sm of managers.splice(0)) await sm.close();
});

/** A memory store that records every call of a method that reads. */
function spiedStore(): { store: SessionStore; reads: string[] } {
  const reads: string[] = [];
  const inner = memoryStore();
  const store: SessionStore = {
    ...inner,
    name: "spied",
    get(id) {
      reads.push(`get ${id}`);
      return inner.get(id);
    },
    list() {
      reads.push("list");
      return inner.list();
    },
    listPrefix(prefix) {
      reads.push(`listPrefix ${prefix}`);
      return inner.listPrefix?.(prefix) ?? [];
    },
  };
  return { store, reads };
}

const Account = defineComponent({
  props: { manager: { type: Object, required: true }, id: { type: String, required: true } },
  setup(props) {
    const sm = props.manager as ManagerLike<Data>;
    const session = useSession(sm, () => props.id);
    const sessions = useSessions(sm);
    const left = useTimeLeft(sm, ref(props.id));
    const status = useManagerStatus(sm);
    const warned = ref(false);
    useExpiringSoon(sm, () => {
      warned.value = true;
    });
    return () =>
      h("p", [
        `${session.value?.data?.name ?? "nobody"}|${sessions.value.length} sessions|`,
        `${left.value ?? "no"} ms|${status.value}|${warned.value ? "warned" : "quiet"}`,
      ]);
  },
});

describe("server rendering", () => {
  it("renders the initial values, reads no storage and holds no listener", async () => {
    const { store, reads } = spiedStore();
    const sm = new SessionManager<Data>({ backend: store, warnBefore: "1m" });
    managers.push(sm);
    await sm.ready;
    await sm.add("a", { data: { name: "Ada" } });
    expect(sm.status).toBe("ready");
    const { manager, listeners } = counted(sm);
    reads.length = 0;

    const app = createSSRApp({
      render: () => [h(Account, { manager, id: "a" }), h(Account, { manager, id: "b" })],
    });
    const html = await renderToString(app);

    expect(html).toBe(
      "<!--[--><p>nobody|0 sessions|no ms|loading|quiet</p>" +
        "<p>nobody|0 sessions|no ms|loading|quiet</p><!--]-->",
    );
    expect(reads).toEqual([]);
    expect(listeners()).toBe(0);
    // Nothing was left behind to run later either.
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(reads).toEqual([]);
    expect(listeners()).toBe(0);
  });
});
