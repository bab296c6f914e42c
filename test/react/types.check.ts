// Type checks of the React hooks (compiled by `npm run typecheck`, never run): `Data` is inferred
// from the manager, the root and the core managers both fit, and wrong arguments do not compile.
import type { SessionManager } from "../../src/index.ts";
import type { SessionManager as CoreSessionManager } from "../../src/manager.ts";
import type { SessionManagerStatus } from "../../src/options.ts";
import {
  type ManagerLike,
  useExpiringSoon,
  useManagerStatus,
  useSession,
  useSessions,
  useTimeLeft,
} from "../../src/react/index.ts";
import type { Session } from "../../src/types.ts";

type User = { name: string };
declare const root: SessionManager<User>;
declare const core: CoreSessionManager<User>;

export function useChecks(): void {
  const a: Session<User> | undefined = useSession(root, "a");
  const b: Session<User> | undefined = useSession(core, null);
  const name: string | undefined = useSession(root, undefined)?.data.name;
  const all: readonly Session<User>[] = useSessions(core);
  const left: number | undefined = useTimeLeft(root, "a", { interval: 250 });
  const status: SessionManagerStatus = useManagerStatus(core);
  useExpiringSoon(root, (session, msLeft) => {
    const n: string = session.data.name;
    const ms: number = msLeft;
    void [n, ms];
  });
  const like: ManagerLike<User> = core;
  void [a, b, name, all, left, status, like];

  // @ts-expect-error the data is a User, not a number
  const wrong: Session<number> | undefined = useSession(root, "a");
  // @ts-expect-error an id is a string
  useSession(root, 5);
  // @ts-expect-error the interval is a number of ms
  useTimeLeft(root, "a", { interval: "1s" });
  // @ts-expect-error not a manager
  useSessions({ status: "ready" });
  // @ts-expect-error the list is read-only
  useSessions(root).push();
  void wrong;
}
