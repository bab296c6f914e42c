// biome-ignore-all lint/correctness/useHookAtTopLevel: Vue composables, not React hooks (they run
// in any effect scope, and so does vitest's useFakeClock helper).
// Type checks of the Vue composables (compiled by `tsc -p test`, never run): what must compile,
// and what must not.
import type { Ref } from "vue";
import { ref } from "vue";
import { SessionManager as CoreSessionManager } from "../../src/core.ts";
import { SessionManager } from "../../src/index.ts";
import type { Session } from "../../src/types.ts";
import {
  useExpiringSoon,
  useManagerStatus,
  useSession,
  useSessions,
  useTimeLeft,
} from "../../src/vue/index.ts";

type Data = { n: number } | null;
const sm = new SessionManager<Data>({});
const core = new CoreSessionManager<{ n: number }>({} as never);

// The session's data type comes from the manager, the root entry's and the core entry's alike.
export const one: Readonly<Ref<Session<Data> | undefined>> = useSession(sm, "a");
export const many: Readonly<Ref<readonly Session<Data>[]>> = useSessions(sm);
export const fromCore: Readonly<Ref<Session<{ n: number }> | undefined>> = useSession(core, "a");
export const left: Readonly<Ref<number | undefined>> = useTimeLeft(sm, () => "a", {
  interval: 500,
});
export const status: Readonly<Ref<"loading" | "ready" | "degraded">> = useManagerStatus(core);
useSession(sm, ref<string | undefined>(undefined));
useTimeLeft(sm, () => null);
useExpiringSoon(core, (session, msLeft) => session.data.n + msLeft);

// @ts-expect-error: another data type
export const wrong: Readonly<Ref<Session<{ x: string }> | undefined>> = useSession(sm, "a");
// @ts-expect-error: the refs are readonly
one.value = undefined;
// @ts-expect-error: an id is a string
useSession(sm, 42);
// @ts-expect-error: the interval is a number of ms
useTimeLeft(sm, "a", { interval: "1s" });
// @ts-expect-error: the listener takes a session and the ms left
useExpiringSoon(sm, (session: string) => session);
