// Load for the HTTP benchmark: a token, seeding sessions through the API, and autocannon runs
// that rotate over the seeded ids.
import autocannon from "autocannon";
import { SignJWT } from "jose";

/** An HS256 token for `sub`, as `sessionmanager token` mints them (valid for an hour). */
export function mintToken(secret, sub) {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(sub)
    .setIssuedAt(now)
    .setExpirationTime(now + 3600)
    .sign(new TextEncoder().encode(secret));
}

/** The session ids the benchmark uses: `s0` … `s{n-1}`. */
export function sessionIds(n) {
  return Array.from({ length: n }, (_, i) => `s${i}`);
}

/** Creates each of `ids` through `url` (`If-None-Match: *`), `parallel` at a time. */
export async function seed(url, token, ids, parallel = 16) {
  let next = 0;
  const worker = async () => {
    while (next < ids.length) {
      const id = ids[next++];
      const response = await fetch(`${url}/v1/sessions/${id}`, {
        method: "PUT",
        headers: {
          authorization: `Bearer ${token}`,
          "content-type": "application/json",
          "if-none-match": "*",
        },
        body: JSON.stringify({ data: { name: `user ${id}`, roles: ["reader"] }, ttl: 3_600_000 }),
      });
      if (response.status !== 201) {
        throw new Error(`seeding ${id}: ${response.status} ${await response.text()}`);
      }
      await response.arrayBuffer();
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
}

/** Reads one session through `url`; resolves to its body or throws with the status. */
export async function readSession(url, token, id) {
  const response = await fetch(`${url}/v1/sessions/${id}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  if (response.status !== 200) throw new Error(`GET ${id} via ${url}: ${response.status}`);
  return (await response.json()).session;
}

/** The ids of the token owner's live sessions. */
export async function listIds(url, token) {
  const ids = [];
  let next;
  do {
    // Paged since the quota work: follow `next` (a server before it answers all in one page).
    const query = `?limit=1000${next === undefined ? "" : `&next=${encodeURIComponent(next)}`}`;
    const response = await fetch(`${url}/v1/sessions${query}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    if (response.status !== 200) throw new Error(`GET /v1/sessions via ${url}: ${response.status}`);
    const body = await response.json();
    ids.push(...body.sessions.map((session) => session.id));
    next = body.next;
  } while (next !== undefined);
  return ids;
}

/** Deletes every session of the token's owner (leaves shared databases as they were). */
export async function clear(url, token) {
  const response = await fetch(`${url}/v1/sessions`, {
    method: "DELETE",
    headers: { authorization: `Bearer ${token}` },
  });
  await response.arrayBuffer();
  return response.status;
}

/**
 * Drives `url` with autocannon for `seconds`: `route` "get" (`GET /v1/sessions/:id`) or "touch"
 * (`POST /v1/sessions/:id/touch`), rotating over `ids` from `offset`; "fixed" for the baselines.
 * Resolves to requests/s, p50 and p99 latency (ms), and the failures.
 */
export async function drive(url, { token, route, ids = ["s0"], offset = 0, seconds, connections }) {
  let i = offset;
  const touch = route === "touch";
  const headers = token ? { authorization: `Bearer ${token}` } : {};
  if (touch) headers["content-type"] = "application/json";
  const result = await autocannon({
    url,
    connections,
    pipelining: 1,
    duration: seconds,
    headers,
    requests: [
      {
        method: touch ? "POST" : "GET",
        ...(touch ? { body: "{}" } : {}),
        setupRequest(request) {
          const id = ids[i++ % ids.length];
          request.path = touch ? `/v1/sessions/${id}/touch` : `/v1/sessions/${id}`;
          return request;
        },
      },
    ],
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
