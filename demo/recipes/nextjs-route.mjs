// Next.js App Router: save as app/api/sessions/[...path]/route.js (or route.ts); the
// sessionmanager API is then at /api/sessions/v1/…, and the app's own sign-in, with cookie
// sessions (an HttpOnly cookie holding a signed id, the data in the same store), at
// /api/sessions/account. Next.js calls these exports with a web Request, which is all either
// needs. Configure it in .env.local:
//
//   SESSIONMANAGER_SECRET=<32+ bytes>         # signs the API's bearer tokens
//   SESSIONMANAGER_COOKIE_SECRET=<32+ bytes>  # signs the session cookie: another key
//   SESSIONMANAGER_BACKEND=redis              # or postgres: every instance must share the store
//   SESSIONMANAGER_URL=redis://localhost:6379
import { cookieSessions, nextSessions } from "sessionmanager-js/cookies";
import { createSessionServer } from "sessionmanager-js/server";

// The drivers (ioredis, pg) need Node.js, not the Edge runtime.
export const runtime = "nodejs";

let sessions;
let accountRoute;

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

/**
 * The app's sign-in, on cookie sessions in their own namespace of the same store. The cookie is
 * `__Host-sid`: HttpOnly, Secure, SameSite=Lax, kept at most `maxAge` (default 7 days); a session
 * unused for `ttl` (default 1 hour) ends.
 */
function accountHandler() {
  accountRoute ??= nextSessions(
    cookieSessions({
      secret: process.env.SESSIONMANAGER_COOKIE_SECRET,
      store: {
        backend: process.env.SESSIONMANAGER_BACKEND ?? "redis",
        url: process.env.SESSIONMANAGER_URL,
        namespace: "accounts",
      },
    }),
  ).route(account);
  return accountRoute;
}

/**
 * GET: who is signed in. POST { user }: sign in, on a fresh session id (`rotate`), so an id
 * planted in the browser before is worthless. DELETE: sign out. (Check the password where the
 * comment says; SameSite=Lax keeps other sites' forms from posting here with the cookie.)
 */
async function account(request, session) {
  if (request.method === "POST") {
    const { user } = await request.json();
    if (typeof user !== "string" || user === "") {
      return Response.json({ error: "user is required" }, { status: 400 });
    }
    // … check the user's password here …
    await session.rotate({ user, signedInAt: Date.now() });
  } else if (request.method === "DELETE") {
    await session.destroy();
  } else if (request.method !== "GET") {
    return new Response(null, { status: 405, headers: { allow: "GET, POST, DELETE" } });
  }
  return Response.json({ user: session.data?.user ?? null });
}

const handle = (request, context) =>
  new URL(request.url).pathname === "/api/sessions/account"
    ? accountHandler()(request, context)
    : sessionServer().fetch(request);

export const GET = handle;
export const PUT = handle;
export const POST = handle;
export const DELETE = handle;
export const OPTIONS = handle;
