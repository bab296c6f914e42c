// Fastify 5: the sessionmanager API under /sessions, next to the app's own routes.
//
//   SESSIONMANAGER_SECRET=<32+ bytes> node demo/recipes/fastify.mjs
//   curl -H "authorization: Bearer $TOKEN" http://127.0.0.1:3000/sessions/v1/sessions
import { fileURLToPath } from "node:url";
import Fastify from "fastify";
import { createSessionServer } from "sessionmanager-js/server";

const PREFIX = "/sessions";
const defaults = {
  backend: "sqlite",
  path: "sessions.db",
  auth: { secret: process.env.SESSIONMANAGER_SECRET },
};

/** The Fastify app; it closes the session server when it closes. */
export function createApp(options = defaults) {
  // Fastify passes the full URL on, so the session server is told where it is mounted.
  const sessions = createSessionServer({ ...options, basePath: PREFIX });
  const app = Fastify();
  app.addHook("onClose", () => sessions.close());
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
  console.log(`Fastify on ${url}, sessions API at ${url}${PREFIX}/v1`);
}
