// Fastify 5: the sessionmanager API under /sessions, next to the app's own routes, and cookie
// sessions for the app's pages (sessionmanager-js/cookies: a signed, HttpOnly, Secure,
// SameSite=Lax cookie holding only a random id; the data on the same backend, in a namespace of
// its own).
//
//   SESSIONMANAGER_SECRET=<32+ bytes> node demo/recipes/fastify.mjs
//   curl -H "authorization: Bearer $TOKEN" http://127.0.0.1:3000/sessions/v1/sessions
//   curl -c jar -H "content-type: application/json" -d '{"user":"ada"}' http://127.0.0.1:3000/login
//   curl -b jar http://127.0.0.1:3000/me
import { fileURLToPath } from "node:url";
import Fastify from "fastify";
import { cookieSessions, fastifySessions } from "sessionmanager-js/cookies";
import { createSessionServer } from "sessionmanager-js/server";

const PREFIX = "/sessions";
const defaults = {
  backend: "sqlite",
  path: "sessions.db",
  auth: { secret: process.env.SESSIONMANAGER_SECRET },
};

/** The Fastify app; it closes the session server and the cookie sessions when it closes. */
export function createApp(options = defaults) {
  // Fastify passes the full URL on, so the session server is told where it is mounted.
  const sessions = createSessionServer({ ...options, basePath: PREFIX });
  const pages = cookieSessions({
    store: {
      backend: options.backend,
      ...(options.path === undefined ? {} : { path: options.path }),
      ...(options.url === undefined ? {} : { url: options.url }),
      namespace: "pages",
    },
    // At least 32 characters; a list rotates keys (the first signs, all verify).
    secret: process.env.SESSIONMANAGER_COOKIE_SECRET ?? options.auth.secret,
    ttl: "30m", // idle timeout, extended while the user is active
    maxAge: "12h", // absolute lifetime, never extended
  });
  const app = Fastify();
  app.addHook("onClose", () => Promise.all([sessions.close(), pages.close()]));
  app.register(
    async (scope) => {
      // In this scope only: bodies stay raw bytes, the session server parses and checks them.
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser("*", { parseAs: "buffer" }, (_req, body, done) =>
        done(null, body),
      );
      // Fastify sends the web Response (status, headers, body) as it is.
      scope.all("/*", (request) => sessions.fetch(toWebRequest(request)));
    },
    { prefix: PREFIX },
  );
  app.post("/echo", async (request) => request.body);

  // The pages, in a scope of their own: request.session there, and no cookie work for the API.
  app.register(async (scope) => {
    await scope.register(fastifySessions(pages));
    // Against CSRF: a state-changing request from another site is refused by its Origin
    // (SameSite=Lax already keeps the cookie off cross-site POSTs in current browsers).
    scope.addHook("onRequest", async (request, reply) => {
      const origin = request.headers.origin;
      if (request.method !== "GET" && origin && new URL(origin).host !== request.host) {
        return reply.code(403).send({ error: "cross-site request refused" });
      }
    });
    scope.post("/login", async (request, reply) => {
      const user = request.body?.user;
      if (typeof user !== "string" || !user)
        return reply.code(400).send({ error: "user is required" });
      // A fresh id on sign-in: an id planted before it (session fixation) is worthless.
      await request.session.rotate({ user });
      return { user };
    });
    scope.get("/me", async (request) => ({ user: request.session.data?.user ?? null }));
    scope.post("/logout", async (request) => {
      await request.session.destroy();
      return { user: null };
    });
  });
  return app;
}

/** Listens on `port` (0: a free one); resolves to `{ url, close }`. */
export async function start({ port = 3000, host = "127.0.0.1", ...options } = {}) {
  const app = createApp({ ...defaults, ...options });
  const url = await app.listen({ port, host });
  return { url, close: () => app.close() };
}

function toWebRequest(request) {
  const url = new URL(request.url, `${request.protocol}://${request.host}`);
  const body = request.body?.length ? request.body : undefined;
  return new Request(url, { method: request.method, headers: request.headers, body });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { url } = await start();
  console.log(`Fastify on ${url}, sessions API at ${url}${PREFIX}/v1, cookie sessions at /login`);
}
