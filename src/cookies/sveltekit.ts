// Cookie sessions in SvelteKit: a `handle` hook (src/hooks.server.ts) loads the request's session
// into `event.locals.session` for every load function, form action and endpoint, and adds the
// cookie it needs to the response they made. Nothing here imports @sveltejs/kit; the hook's
// argument is taken by its shape, so the function is a `Handle` as it is.
import { checkSessions, commitToResponse } from "./response-commit.ts";
import type { CookieSession, CookieSessions } from "./types.ts";

/** A SvelteKit request event as the hook reads it (`RequestEvent` fits). */
export interface SvelteKitEventLike {
  /** The request, which the session's cookie is read from. */
  request: Request;
  /** Where the hook puts the session: `locals.session`. */
  locals: object;
}

/**
 * The `handle` hook of cookie sessions: `event.locals.session` is the request's session (declare
 * it in src/app.d.ts: `interface Locals { session: CookieSession<Data> }`), and its cookie goes on
 * the response. Combine it with other hooks by `sequence()` of @sveltejs/kit/hooks. Changes made
 * after the response has started (in a streamed promise) cannot send a cookie any more.
 * @example
 * // src/hooks.server.ts
 * export const handle = svelteKitSessions(cookieSessions({ secret, store: { backend: "redis", url } }));
 * // a form action
 * login: async ({ locals }) => { await locals.session.rotate({ user: "ada" }); }
 */
export function svelteKitSessions<Data>(
  sessions: CookieSessions<Data>,
): <Event extends SvelteKitEventLike>(input: {
  event: Event;
  resolve(event: Event): Response | Promise<Response>;
}) => Promise<Response> {
  checkSessions(sessions);
  return async ({ event, resolve }) => {
    const session = await sessions.load(event.request);
    (event.locals as { session?: CookieSession<Data> }).session = session;
    return commitToResponse(sessions, session, await resolve(event));
  };
}
