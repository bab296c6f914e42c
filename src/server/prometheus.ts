// A small metric registry and the Prometheus text exposition format 0.0.4, written out here
// rather than taken from prom-client: prom-client is Node-only (it loads `cluster`, `perf_hooks`
// and `v8` on import), so the server entry, which runs on Bun, Deno and workers too, could not
// import it; and the server needs four metric types' worth of it (~150 lines).
// Format: https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format

/** The `content-type` of a scrape answer. */
export const EXPOSITION_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Upper bounds (seconds) of a request duration histogram: 5 ms to 10 s, Prometheus' defaults. */
export const DURATION_BUCKETS: readonly number[] = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

type Kind = "counter" | "gauge" | "histogram";

/** One metric family: its name, help, type and the lines of its samples. */
interface Family {
  readonly name: string;
  readonly help: string;
  readonly kind: Kind;
  samples(): string[];
}

// Label values are joined into one map key with a character no label value here may hold
// unescaped (the values are checked and bounded by the callers; this only keeps keys apart).
const KEY_SEPARATOR = "\u0000";

/** A counter or gauge with labels: one number per combination of label values. */
export class Scalar implements Family {
  readonly name: string;
  readonly help: string;
  readonly kind: Kind;
  private readonly labelNames: readonly string[];
  private readonly series = new Map<string, { values: readonly string[]; value: number }>();

  constructor(name: string, help: string, kind: "counter" | "gauge", labelNames: string[] = []) {
    this.name = name;
    this.help = help;
    this.kind = kind;
    this.labelNames = labelNames;
  }

  /** Adds `by` (default 1) to the series of `values`, one per label name, in order. */
  inc(values: readonly string[] = [], by = 1): void {
    const key = values.join(KEY_SEPARATOR);
    const found = this.series.get(key);
    if (found) found.value += by;
    else this.series.set(key, { values: [...values], value: by });
  }

  /** Sets the series of `values` (gauges). */
  set(value: number, values: readonly string[] = []): void {
    this.series.set(values.join(KEY_SEPARATOR), { values: [...values], value });
  }

  samples(): string[] {
    return [...this.series.values()].map(
      ({ values, value }) => `${this.name}${labels(this.labelNames, values)} ${number(value)}`,
    );
  }
}

/** A histogram with labels: per series, counts per bucket (not cumulative until rendered), sum. */
export class Histogram implements Family {
  readonly name: string;
  readonly help: string;
  readonly kind: Kind = "histogram";
  private readonly labelNames: readonly string[];
  private readonly bounds: readonly number[];
  private readonly series = new Map<
    string,
    { values: readonly string[]; counts: number[]; sum: number }
  >();

  constructor(name: string, help: string, labelNames: string[], bounds: readonly number[]) {
    this.name = name;
    this.help = help;
    this.labelNames = labelNames;
    this.bounds = bounds;
  }

  /** Counts one observation of `value` in the series of `values`. */
  observe(value: number, values: readonly string[]): void {
    const key = values.join(KEY_SEPARATOR);
    let found = this.series.get(key);
    if (!found) {
      // One slot per bound and one for +Inf.
      found = { values: [...values], counts: new Array(this.bounds.length + 1).fill(0), sum: 0 };
      this.series.set(key, found);
    }
    let slot = 0;
    while (slot < this.bounds.length && value > (this.bounds[slot] ?? 0)) slot++;
    found.counts[slot] = (found.counts[slot] ?? 0) + 1;
    found.sum += value;
  }

  samples(): string[] {
    const lines: string[] = [];
    for (const { values, counts, sum } of this.series.values()) {
      let total = 0;
      counts.forEach((count, slot) => {
        total += count;
        const le = slot < this.bounds.length ? number(this.bounds[slot] ?? 0) : "+Inf";
        const names = [...this.labelNames, "le"];
        lines.push(`${this.name}_bucket${labels(names, [...values, le])} ${total}`);
      });
      const own = labels(this.labelNames, values);
      lines.push(`${this.name}_sum${own} ${number(sum)}`, `${this.name}_count${own} ${total}`);
    }
    return lines;
  }
}

/** The families in the text format: `# HELP`, `# TYPE`, then the samples; one newline at the end. */
export function render(families: readonly Family[]): string {
  const lines: string[] = [];
  for (const family of families) {
    lines.push(`# HELP ${family.name} ${escapeHelp(family.help)}`);
    lines.push(`# TYPE ${family.name} ${family.kind}`);
    lines.push(...family.samples());
  }
  return `${lines.join("\n")}\n`;
}

/** `{a="x",b="y"}`, or nothing without labels. */
function labels(names: readonly string[], values: readonly string[]): string {
  if (names.length === 0) return "";
  const pairs = names.map((name, i) => `${name}="${escapeLabel(values[i] ?? "")}"`);
  return `{${pairs.join(",")}}`;
}

/** A label value: backslash, double quote and line feed escaped (the format's three). */
export function escapeLabel(value: string): string {
  return value.replace(/[\\"\n]/g, (c) => (c === "\n" ? "\\n" : `\\${c}`));
}

/** A help text: backslash and line feed escaped. */
function escapeHelp(text: string): string {
  return text.replace(/[\\\n]/g, (c) => (c === "\n" ? "\\n" : "\\\\"));
}

/** A sample value as the format spells it (`+Inf`, `-Inf`, `NaN` for the special ones). */
function number(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Number.POSITIVE_INFINITY) return "+Inf";
  if (value === Number.NEGATIVE_INFINITY) return "-Inf";
  return String(value);
}
