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
 * of `clients` polls at `origin + (i / clients) * intervalMs + k * intervalMs` (the phases spread
 * evenly, as a steady population's are), and sees a change at its first poll that starts after
 * the write was answered, plus the poll's own round trip (`pollMs`). Latency counts from when the
 * write was sent, as the stream figures do. `changes`: `{ client, sentAt, answeredAt }`.
 */
export function pollingLatencies(changes, { clients, intervalMs, origin, pollMs }) {
  return changes.map(({ client, sentAt, answeredAt }) => {
    const phase = origin + (client / clients) * intervalMs;
    const k = Math.max(0, Math.ceil((answeredAt - phase) / intervalMs));
    return phase + k * intervalMs + pollMs - sentAt;
  });
}
