// Cookie sessions in a Nitro server route: read from the middleware's event.context.session,
// sign in (a fresh id: rotate) and out through h3Session, the same session object.
import { type CookieSession, h3Session } from "sessionmanager-js/cookies";
import { type Account, accounts } from "../utils/accounts";

export default defineEventHandler(async (event) => {
  const fromMiddleware = event.context.session as CookieSession<Account>;
  const session = await h3Session(accounts, event);
  if (session !== fromMiddleware) throw new Error("the middleware and the route got two sessions");
  if (event.method === "POST") {
    const { user } = await readBody<{ user: string }>(event);
    await session.rotate({ user, framework: "nuxt" });
  } else if (event.method === "DELETE") {
    await session.destroy();
  }
  return { account: session.data ?? null };
});
