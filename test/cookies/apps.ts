// The test app of routes.ts in each framework, each served over real HTTP on a free port of
// 127.0.0.1: Hono (on @hono/node-server), Fastify 5 (the plugin at the root, the routes in a
// child scope) and plain node:http (nodeSessions).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createAdaptorServer } from "@hono/node-server";
import Fastify from "fastify";
import { Hono } from "hono";
import type { CookieSession, SessionVariables } from "../../src/cookies/index.ts";
import * as source from "../../src/cookies/index.ts";
import type { Running, Serve } from "./behaviour.ts";
import { type AppData, failure, route } from "./routes.ts";

declare module "fastify" {
  interface FastifyRequest {
    session: CookieSession<AppData>;
  }
}

type Body = Parameters<typeof route>[3];

export async function listen(server: Server): Promise<Running> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The adapters to serve with: the sources', or the built package's (dist/cookies.js, .cjs). */
export type Adapters = Pick<typeof source, "honoSessions" | "fastifySessions" | "nodeSessions">;

const honoServer =
  ({ honoSessions }: Adapters): Serve =>
  (sessions) => {
    const app = new Hono<{ Variables: SessionVariables<AppData> }>();
    app.onError((error, c) => {
      const { status, body } = failure(error);
      return c.json(body, status as 500);
    });
    app.use(honoSessions(sessions));
    app.all("*", async (c) => {
      const body = c.req.header("content-type") ? await c.req.json() : undefined;
      const { status, body: answer } = await route(
        c.req.method,
        c.req.path,
        c.get("session"),
        body,
      );
      return c.json(answer, status as 200);
    });
    return listen(createAdaptorServer({ fetch: app.fetch }) as Server);
  };

const fastifyServer =
  ({ fastifySessions }: Adapters): Serve =>
  async (sessions) => {
    const app = Fastify();
    await app.register(fastifySessions(sessions));
    app.setErrorHandler(async (error, _request, reply) => {
      const { status, body } = failure(error);
      return reply.status(status).send(body);
    });
    // Encapsulated: the session is there all the same, as the plugin skips encapsulation.
    await app.register(async (scope) => {
      scope.all("/*", async (request, reply) => {
        const path = request.url.split("?")[0] as string;
        const answer = await route(request.method, path, request.session, request.body as Body);
        return reply.status(answer.status).send(answer.body);
      });
    });
    const url = await app.listen({ port: 0, host: "127.0.0.1" });
    return { url, close: () => app.close() };
  };

async function readBody(request: IncomingMessage): Promise<Body> {
  let text = "";
  for await (const chunk of request) text += chunk;
  return text ? (JSON.parse(text) as Body) : undefined;
}

const nodeServer =
  ({ nodeSessions }: Adapters): Serve =>
  (sessions) => {
    const listener = nodeSessions(
      sessions,
      async (request: IncomingMessage, response: ServerResponse, session) => {
        const body = await readBody(request);
        const answer = await route(request.method ?? "GET", request.url ?? "/", session, body);
        response.writeHead(answer.status, { "content-type": "application/json" });
        response.end(JSON.stringify(answer.body));
      },
      {
        onError: (error, _request, response) => {
          const { status, body } = failure(error);
          response.writeHead(status, { "content-type": "application/json" });
          response.end(JSON.stringify(body));
        },
      },
    );
    return listen(createServer(listener));
  };

export const serveHono: Serve = honoServer(source);
export const serveFastify: Serve = fastifyServer(source);
export const serveNode: Serve = nodeServer(source);

/** Each framework's name and how to serve the test app in it with `adapters`. */
export function frameworksWith(adapters: Adapters): { name: string; serve: Serve }[] {
  return [
    { name: "Hono", serve: honoServer(adapters) },
    { name: "Fastify", serve: fastifyServer(adapters) },
    { name: "node:http", serve: nodeServer(adapters) },
  ];
}

/** Each framework's name and how to serve the test app in it. */
export const frameworks: { name: string; serve: Serve }[] = frameworksWith(source);
