// A Nitro server route as a Nuxt user writes it: SQLite by name, one manager per server process.
import { SessionManager } from "sessionmanager-js";

let manager: SessionManager | undefined;
const errors: string[] = [];

function sessions(): SessionManager {
  if (!manager) {
    manager = new SessionManager({
      backend: "sqlite",
      path: process.env.SM_DB_PATH ?? "sessions.db",
    });
    manager.on("error", (error) => errors.push(String((error as Error)?.stack ?? error)));
  }
  return manager;
}

export default defineEventHandler(async (event) => {
  const id = String(getQuery(event).id ?? "user");
  try {
    const sm = sessions();
    if (event.method === "POST") await sm.add(id, { data: { framework: "nuxt" }, ttl: "15m" });
    const session = await sm.get(id);
    return { id: session?.id ?? null, data: session?.data ?? null, status: sm.status, errors };
  } catch (error) {
    setResponseStatus(event, 500);
    return { error: String((error as Error)?.stack ?? error), errors };
  }
});
