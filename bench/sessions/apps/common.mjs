// What every app of the sessions bench shares: the signed-in user's session data, the cookie
// secret, the session lifetime, and the two routes' contract (POST /login signs in and sets the
// cookie; GET /me answers the session's data as JSON, or 401 when the request has no session).

/** The data each sign-in stores, and each read must answer (the harness compares the body). */
export const USER = { user: "bench-user", name: "Bench User", roles: ["reader", "writer"] };
export const SECRET = "bench-cookie-secret-that-is-long-enough-to-sign";
export const HOUR_MS = 3_600_000;
/** Redis keys and namespaces of one app in one run: every key of the run contains `run`. */
export const namespaceOf = (run, app) => `${run}-${app}`;
