// A route handler as a Next.js user writes it: SQLite by name, one manager per server process.
import { SessionManager } from "sessionmanager-js";

export const dynamic = "force-dynamic";

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

async function answer(request: Request, write: boolean): Promise<Response> {
  const id = new URL(request.url).searchParams.get("id") ?? "user";
  try {
    const sm = sessions();
    if (write) await sm.add(id, { data: { framework: "next" }, ttl: "15m" });
    const session = await sm.get(id);
    return Response.json({
      id: session?.id ?? null,
      data: session?.data ?? null,
      status: sm.status,
      errors,
    });
  } catch (error) {
    return Response.json(
      { error: String((error as Error)?.stack ?? error), errors },
      { status: 500 },
    );
  }
}

export const POST = (request: Request) => answer(request, true);
export const GET = (request: Request) => answer(request, false);
