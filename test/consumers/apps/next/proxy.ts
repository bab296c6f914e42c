// Cookie sessions in Next.js 16's proxy (middleware), as a user writes them: /members/area only
// for a signed-in user, sign-in and sign-out at /members/login and /members/logout. The proxy is
// bundled apart from the routes, so its sessions are its own (memory, one server process) under
// a cookie name of their own.
import { type NextRequest, NextResponse } from "next/server";
import { cookieSessions, nextSessions } from "sessionmanager-js/cookies";

const members = nextSessions(
  cookieSessions<{ user: string }>({
    secret: process.env.SM_COOKIE_SECRET ?? "a consumer-test secret of 32+ characters",
    store: { backend: "memory" },
    name: "__Host-members",
  }),
);

export const proxy = members.middleware(async (request: NextRequest, session) => {
  const { pathname } = request.nextUrl;
  if (pathname === "/members/login" && request.method === "POST") {
    await session.rotate({ user: "ada" });
    return NextResponse.redirect(new URL("/members/area", request.url), 303);
  }
  if (pathname === "/members/logout") {
    await session.destroy();
    return NextResponse.redirect(new URL("/members/login", request.url), 303);
  }
  if (!session.id) return NextResponse.redirect(new URL("/members/login", request.url), 307);
  const response = NextResponse.next();
  response.headers.set("x-member", session.data?.user ?? "");
  return response;
});

export const config = { matcher: ["/members/area", "/members/login", "/members/logout"] };
