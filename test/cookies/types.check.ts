// Type tests of sessionmanager-js/cookies, both ways: what must compile against the real
// frameworks' types (Hono, Fastify, node:http), and (@ts-expect-error) what must not.
// Type-checked with the tests (test/tsconfig.json), never run.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import Fastify from "fastify";
import { Hono } from "hono";
import {
  type CookieSession,
  cookieSessions,
  fastifySessions,
  honoSessions,
  nodeSessions,
  type SessionEnv,
} from "../../src/cookies/index.ts";
import { SessionManager } from "../../src/index.ts";

type Data = { user: string };
const sessions = cookieSessions<Data>({ secret: "x".repeat(32), ttl: "30m", maxAge: "1d" });
cookieSessions<Data>({
  manager: new SessionManager<Data>(),
  secret: ["a".repeat(32), "b".repeat(32)],
});

// Hono: the middleware's env gives c.get("session") its type.
const app = new Hono<SessionEnv<Data>>();
app.use(honoSessions(sessions));
app.get("/", async (c) => {
  const session: CookieSession<Data> = c.get("session");
  const user: string | undefined = session.data?.user;
  await session.rotate({ user: user ?? "ada" });
  // @ts-expect-error: not this app's data
  await session.set({ name: "ada" });
  return c.text("ok");
});

// Fastify: the plugin registers as it is, on the real FastifyInstance.
const fastify = Fastify();
await fastify.register(fastifySessions(sessions));

// node:http: the handler's types come from its annotations.
createServer(
  nodeSessions(sessions, async (req: IncomingMessage, res: ServerResponse, session) => {
    res.end(`${req.url} ${session.data?.user}`);
  }),
);

// @ts-expect-error: the secret is required
cookieSessions<Data>({});
// @ts-expect-error: SameSite is lax, strict or none
cookieSessions<Data>({ secret: "x".repeat(32), cookie: { sameSite: "lenient" } });
// @ts-expect-error: HttpOnly cannot be turned off (there is no such option)
cookieSessions<Data>({ secret: "x".repeat(32), cookie: { httpOnly: false } });
// @ts-expect-error: durations are numbers of ms or strings such as "30m"
cookieSessions<Data>({ secret: "x".repeat(32), ttl: "thirty minutes" });
