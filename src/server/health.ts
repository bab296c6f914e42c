// `GET /health`: whether this process can reach its store, for load balancers and orchestrators
// (a Kubernetes readiness probe, an ALB target group). No token, so it says nothing but "ok" or
// "unavailable": never the store's name, host or error.

/** A cheap call on the store that rejects when the store cannot answer. */
export type HealthCheck = () => Promise<void>;

/** Runs the check, one at a time however many probes ask, and within a time limit. */
export interface StoreProbe {
  /** True when the check resolved within the limit. Never rejects. */
  up(): Promise<boolean>;
}

/** How long a check may take before the store counts as unavailable, in ms. */
export const CHECK_TIMEOUT_MS = 2000;

const NO_STORE = "no-store";

/**
 * A probe of `check`. Probes that arrive while a check is under way share its answer: the route
 * needs no token, so a flood of probes must not become a flood of store calls.
 */
export function storeProbe(check: HealthCheck, timeoutMs: number = CHECK_TIMEOUT_MS): StoreProbe {
  let running: Promise<boolean> | undefined;
  return {
    up() {
      running ??= withTimeout(check, timeoutMs).finally(() => {
        running = undefined;
      });
      return running;
    },
  };
}

/** The answer of `GET /health`: 200 `{"status":"ok"}` or 503 `{"status":"unavailable"}`. */
export async function healthResponse(probe: StoreProbe): Promise<Response> {
  const up = await probe.up();
  return new Response(JSON.stringify({ status: up ? "ok" : "unavailable" }), {
    status: up ? 200 : 503,
    headers: { "content-type": "application/json; charset=utf-8", "cache-control": NO_STORE },
  });
}

async function withTimeout(check: HealthCheck, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    // `Promise.resolve().then` so that a check that throws synchronously counts as down too.
    const answered = Promise.resolve()
      .then(check)
      .then(
        () => true,
        () => false,
      );
    return await Promise.race([answered, late]);
  } finally {
    clearTimeout(timer);
  }
}
