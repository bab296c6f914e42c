// Figures of the realtime bench: percentiles of a sample, and what a client that polls on a fixed
// schedule would have seen of the same changes.

/** `{ count, p50, p99, max, mean }` of `values` (nearest rank); zeros for none. */
export function percentiles(values) {
  if (values.length === 0) return { count: 0, p50: 0, p99: 0, max: 0, mean: 0 };
  const sorted = Float64Array.from(values).sort();
  const rank = (p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    count: sorted.length,
    p50: rank(50),
    p99: rank(99),
    max: sorted[sorted.length - 1],
    mean: sum / sorted.length,
  };
}

/**
 * The latency each change would have had for a client that polls every `intervalMs`: client `i`
 * polls at `phases[i] + k * intervalMs` (`pollPhases`: uniform, independent of the order the
 * bench writes to the clients in), and sees a change at its first poll that starts after the
 * write was answered, plus the poll's own round trip (`pollMs`). Latency counts from when the
 * write was sent, as the stream figures do. `changes`: `{ client, sentAt, answeredAt }`.
 */
export function pollingLatencies(changes, { phases, intervalMs, pollMs }) {
  return changes.map(({ client, sentAt, answeredAt }) => {
    const phase = phases[client] * intervalMs;
    const k = Math.max(0, Math.ceil((answeredAt - phase) / intervalMs));
    return phase + k * intervalMs + pollMs - sentAt;
  });
}

/** `clients` poll phases in [0, 1), uniform and the same every run (mulberry32 from `seed`). */
export function pollPhases(clients, seed = 13) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return Array.from({ length: clients }, next);
}
