// Next.js App Router: save as app/api/sessions/[...path]/route.js (or route.ts); the
// sessionmanager API is then at /api/sessions/v1/…. Next.js calls these exports with a web
// Request, which is all the session server needs. Configure it in .env.local:
//
//   SESSIONMANAGER_SECRET=<32+ bytes>
//   SESSIONMANAGER_BACKEND=redis            # or postgres: every instance must share the store
//   SESSIONMANAGER_URL=redis://localhost:6379
import { createSessionServer } from "sessionmanager-js/server";

// The drivers (ioredis, pg) need Node.js, not the Edge runtime.
export const runtime = "nodejs";

let sessions;

/**
 * The session server, made on the first request rather than at import: `next build` imports
 * route files without serving them. `basePath` is this route's folder (prefix it with the
 * app's own `basePath` from next.config.js, if it has one): Next.js passes the full URL on.
 */
function sessionServer() {
  sessions ??= createSessionServer({
    backend: process.env.SESSIONMANAGER_BACKEND ?? "redis",
    url: process.env.SESSIONMANAGER_URL,
    auth: { secret: process.env.SESSIONMANAGER_SECRET },
    basePath: "/api/sessions",
  });
  return sessions;
}

const handle = (request) => sessionServer().fetch(request);

export const GET = handle;
export const PUT = handle;
export const POST = handle;
export const DELETE = handle;
export const OPTIONS = handle;
