// Cookie sessions for every request: event.locals.session, the cookie added to the response.
// One server process: the memory backend is enough.
import { cookieSessions, svelteKitSessions } from "sessionmanager-js/cookies";

export const handle = svelteKitSessions(
  cookieSessions<App.Account>({
    secret: process.env.SM_COOKIE_SECRET ?? "a consumer-test secret of 32+ characters",
    store: { backend: "memory" },
  }),
);
