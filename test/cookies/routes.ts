// The little app every adapter test serves, written once over a CookieSession so that each
// framework's test only wires it in: who am I, sign in (rotate), put something in the cart
// (set), sign out (destroy). Errors answer with their code, as an app's error handler would.

import type { CookieSession } from "../../src/cookies/index.ts";
import { isSessionError } from "../../src/errors.ts";

export interface AppData {
  user?: string;
  cart?: string[];
}

export interface Answer {
  status: number;
  body: Record<string, unknown>;
}

/** What the app answers to `method path` with `body`, for the request's `session`. */
export async function route(
  method: string,
  path: string,
  session: CookieSession<AppData>,
  body: { user?: string; item?: string } | undefined,
): Promise<Answer> {
  const me = () => ({ id: session.id, data: session.data, expiresAt: session.expiresAt });
  if (method === "GET" && path === "/me") return { status: 200, body: me() };
  if (method === "POST" && path === "/login") {
    await session.rotate({ ...session.data, user: body?.user ?? "ada" });
    return { status: 200, body: me() };
  }
  if (method === "POST" && path === "/cart") {
    const cart = [...(session.data?.cart ?? []), body?.item ?? "tea"];
    await session.set({ ...session.data, cart });
    return { status: 200, body: me() };
  }
  if (method === "POST" && path === "/logout") {
    await session.destroy();
    return { status: 200, body: me() };
  }
  return { status: 404, body: { error: "no such route" } };
}

/** The answer for an error thrown while loading or changing the session. */
export function failure(error: unknown): Answer {
  const code = isSessionError(error) ? error.code : "INTERNAL";
  return { status: code === "BACKEND_UNAVAILABLE" ? 503 : 500, body: { error: code } };
}
