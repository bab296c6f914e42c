// Cookie sessions in an endpoint: the handle hook put the session in locals; sign in (a fresh id:
// rotate), read, sign out.
import { json, type RequestHandler } from "@sveltejs/kit";

export const GET: RequestHandler = ({ locals }) => json({ account: locals.session.data ?? null });

export const POST: RequestHandler = async ({ locals, request }) => {
  const { user } = (await request.json()) as { user: string };
  await locals.session.rotate({ user, framework: "sveltekit" });
  return json({ account: locals.session.data ?? null });
};

export const DELETE: RequestHandler = async ({ locals }) => {
  await locals.session.destroy();
  return json({ account: locals.session.data ?? null });
};
