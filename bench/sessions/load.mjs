// The client side of the sessions bench: sign in (POST /login, keep the cookie), check that a read
// answers the session's data, and drive GET /me with autocannon carrying the signed-in cookies.
import { isDeepStrictEqual } from "node:util";
import autocannon from "autocannon";
import { USER } from "./apps/common.mjs";

/** Signs in `n` times through `url`; resolves to the `Cookie` header values (name=value). */
export async function signIn(url, n) {
  const cookies = [];
  for (let i = 0; i < n; i++) {
    const response = await fetch(`${url}/login`, { method: "POST" });
    const body = await response.text();
    if (response.status !== 200) throw new Error(`POST /login: ${response.status} ${body}`);
    const pairs = response.headers.getSetCookie().map((line) => line.split(";")[0]);
    if (pairs.length === 0) throw new Error("POST /login set no cookie");
    cookies.push(pairs.join("; "));
  }
  return cookies;
}

/**
 * Reads GET /me with `cookie` and throws unless it answers 200 with the signed-in data (a bench
 * that measures 401s is worthless); without a cookie it must answer 401.
 */
export async function checkRead(url, cookie) {
  const read = async (headers) => {
    const response = await fetch(`${url}/me`, { headers });
    return { status: response.status, body: await response.text() };
  };
  const signedIn = await read({ cookie });
  if (signedIn.status !== 200 || !isDeepStrictEqual(JSON.parse(signedIn.body), USER)) {
    throw new Error(`GET /me with the cookie: ${signedIn.status} ${signedIn.body}`);
  }
  const anonymous = await read({});
  if (anonymous.status !== 401) {
    throw new Error(`GET /me without a cookie: ${anonymous.status} ${anonymous.body}`);
  }
  return signedIn.body;
}

/**
 * `count` reads of GET /me one after another, each `pauseMs` after the previous one (for counting
 * Redis commands); throws on a non-200.
 */
export async function readSequentially(url, cookies, count, pauseMs = 0) {
  for (let i = 0; i < count; i++) {
    if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
    const response = await fetch(`${url}/me`, { headers: { cookie: cookies[i % cookies.length] } });
    await response.arrayBuffer();
    if (response.status !== 200) throw new Error(`GET /me: ${response.status} on read ${i}`);
  }
}

/**
 * GET /me under autocannon for `seconds` over `connections`, rotating over `cookies`. Resolves
 * to requests/s (mean of the per-second samples), p50/p99 latency in ms, and the failures.
 */
export async function drive(url, { cookies, seconds, connections }) {
  let i = 0;
  // One cookie: a fixed header, so the load generator does no work per request beyond sending.
  const rotate =
    cookies.length === 1
      ? {}
      : {
          setupRequest(request) {
            request.headers = { ...request.headers, cookie: cookies[i++ % cookies.length] };
            return request;
          },
        };
  const result = await autocannon({
    url,
    connections,
    pipelining: 1,
    duration: seconds,
    headers: { cookie: cookies[0] },
    requests: [{ method: "GET", path: "/me", ...rotate }],
  });
  return {
    rps: result.requests.average,
    total: result.requests.total,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  };
}
