// Cookie sessions in a Next.js route handler, as a user writes them: sign in through the route
// wrapper (the cookie on the returned Response), read and sign out through `cookies()`. One
// server process: the memory backend is enough.
import { cookies, headers } from "next/headers";
import { cookieSessions, nextSessions } from "sessionmanager-js/cookies";

export const dynamic = "force-dynamic";

interface Account {
  user: string;
  framework: string;
}

const sessions = nextSessions(
  cookieSessions<Account>({
    secret: process.env.SM_COOKIE_SECRET ?? "a consumer-test secret of 32+ characters",
    store: { backend: "memory" },
  }),
);

const answer = (account: Account | undefined) => Response.json({ account: account ?? null });

/** Who is signed in, read through next/headers' cookies(). */
export async function GET(): Promise<Response> {
  const session = await sessions.cookies(await cookies(), await headers());
  return answer(session.data);
}

/** Sign in: a fresh session id (rotate), the cookie added to the Response. */
export const POST = sessions.route(async (request, session) => {
  const { user } = (await request.json()) as { user: string };
  await session.rotate({ user, framework: "next" });
  return answer(session.data);
});

/** Sign out through cookies(): the cookie store clears the cookie. */
export async function DELETE(): Promise<Response> {
  const session = await sessions.cookies(await cookies(), await headers());
  await session.destroy();
  return answer(session.data);
}
