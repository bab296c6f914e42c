// The test app of routes.ts under each adapter of this folder, served over real HTTP on a free
// port of 127.0.0.1: H3 1.x for real (createApp, toNodeListener), with the session taken in the
// handler or from a middleware; a Next.js route handler and a SvelteKit handle hook, at the level
// those frameworks call them (a web Request in, a Response out). The unit tests run them on
// memory, the services test on Redis and PostgreSQL.
import {
  createApp,
  defineEventHandler,
  getRequestHeader,
  type H3Event,
  readBody,
  setResponseStatus,
  toNodeListener,
} from "h3";
import { h3Session, h3Sessions } from "../../../src/cookies/h3.ts";
import type { CookieSession, CookieSessions } from "../../../src/cookies/index.ts";
import { nextSessions } from "../../../src/cookies/next.ts";
import { svelteKitSessions } from "../../../src/cookies/sveltekit.ts";
import type { Running, Serve } from "../behaviour.ts";
import { type AppData, failure, route } from "../routes.ts";
import { bodyOf, serveFetch, serveNode } from "./serve.ts";

type Answer = { status: number; body: object };

/** The test app in H3, its session taken in the handler or from a middleware. */
export function h3App(
  sessions: CookieSessions<AppData>,
  wiring: "handler" | "middleware",
): Promise<Running> {
  const app = createApp();
  const answer = async (event: H3Event, work: () => Promise<Answer>) => {
    const { status, body } = await work().catch(failure);
    setResponseStatus(event, status);
    return body;
  };
  if (wiring === "middleware") {
    const middleware = h3Sessions(sessions);
    // A middleware that returns nothing lets the next handler run; a failure answers at once.
    app.use(
      defineEventHandler(async (event) => {
        try {
          await middleware(event);
        } catch (error) {
          return answer(event, () => Promise.reject(error));
        }
      }),
    );
  }
  app.use(
    defineEventHandler((event) =>
      answer(event, async () => {
        const session: CookieSession<AppData> =
          wiring === "middleware" ? event.context.session : await h3Session(sessions, event);
        const body = getRequestHeader(event, "content-type") ? await readBody(event) : undefined;
        return route(event.method, event.path, session, body);
      }),
    ),
  );
  return serveNode(toNodeListener(app));
}

/** An error answered as routes.ts says (Next.js and SvelteKit themselves would answer 500). */
async function answering(work: () => Promise<Response>): Promise<Response> {
  try {
    return await work();
  } catch (error) {
    const { status, body } = failure(error);
    return Response.json(body, { status });
  }
}

/** The test app as a Next.js route handler (`nextSessions(sessions).route`). */
export const nextRouteApp: Serve = (sessions) => {
  const handler = nextSessions(sessions).route(async (request, session) => {
    const { pathname } = new URL(request.url);
    const { status, body } = await route(request.method, pathname, session, await bodyOf(request));
    return Response.json(body, { status });
  });
  return serveFetch((request) => answering(() => handler(request, undefined)));
};

/** A SvelteKit request event, as far as the test app reads it. */
export interface KitEvent {
  request: Request;
  url: URL;
  locals: { session?: CookieSession<AppData> };
}

/** SvelteKit's server as the hook sees it: an event per request, `resolve` after the hook. */
export function kit(
  sessions: CookieSessions<AppData>,
  resolve: (event: KitEvent) => Promise<Response>,
): (request: Request) => Promise<Response> {
  const handle = svelteKitSessions(sessions);
  return (request) =>
    answering(() => handle({ event: { request, url: new URL(request.url), locals: {} }, resolve }));
}

/** The test app behind SvelteKit's handle hook, read from `locals.session`. */
export const svelteKitApp: Serve = (sessions) =>
  serveFetch(
    kit(sessions, async ({ request, url, locals }) => {
      const session = locals.session as CookieSession<AppData>;
      const answer = await route(request.method, url.pathname, session, await bodyOf(request));
      return Response.json(answer.body, { status: answer.status });
    }),
  );

/** Every adapter of this folder, by name, as the behaviour suite serves it. */
export const frameworkApps: { name: string; serve: Serve }[] = [
  { name: "H3 1.x (handler)", serve: (sessions) => h3App(sessions, "handler") },
  { name: "H3 1.x (middleware)", serve: (sessions) => h3App(sessions, "middleware") },
  { name: "Next.js route handler", serve: nextRouteApp },
  { name: "SvelteKit handle", serve: svelteKitApp },
];
