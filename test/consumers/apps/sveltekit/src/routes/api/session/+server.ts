// An endpoint as a SvelteKit user writes it: SQLite by name, one manager per server process.
import { json, type RequestHandler } from "@sveltejs/kit";
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

async function answer(url: URL, write: boolean): Promise<Response> {
  const id = url.searchParams.get("id") ?? "user";
  try {
    const sm = sessions();
    if (write) await sm.add(id, { data: { framework: "sveltekit" }, ttl: "15m" });
    const session = await sm.get(id);
    return json({
      id: session?.id ?? null,
      data: session?.data ?? null,
      status: sm.status,
      errors,
    });
  } catch (error) {
    return json({ error: String((error as Error)?.stack ?? error), errors }, { status: 500 });
  }
}

export const POST: RequestHandler = ({ url }) => answer(url, true);
export const GET: RequestHandler = ({ url }) => answer(url, false);
