// Behind the proxy: only a signed-in member gets here.
export const dynamic = "force-dynamic";

export const GET = () => new Response("members only");
