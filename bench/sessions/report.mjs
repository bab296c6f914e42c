// The console report of the sessions bench: one table of both pairs (req/s, ratio to the
// baseline, latency, Redis commands per read), then the issue's targets, each PASS, MISS or not
// available, and how loaded the machine was.
import { table } from "../lib/table.mjs";
import { fmtInt } from "../lib/util.mjs";

const mean = (list) => list.reduce((sum, x) => sum + x, 0) / list.length;
const f2 = (x) => x.toFixed(2);
/** A count per read: whole numbers plain, others with two decimals. */
const perRead = (x) => (Math.abs(x - Math.round(x)) < 0.005 ? String(Math.round(x)) : f2(x));

/** Mean req/s and latency over a side's rounds, or undefined when it did not run. */
function summary(side) {
  if (side.unavailable || side.rounds.length === 0) return undefined;
  return {
    rps: mean(side.rounds.map((r) => r.rps)),
    p50: mean(side.rounds.map((r) => r.p50)),
    p99: mean(side.rounds.map((r) => r.p99)),
    cpu: mean(side.rounds.map((r) => r.cpuUsPerRequest)),
    failures: side.rounds.reduce((sum, r) => sum + r.non2xx + r.errors, 0),
  };
}

/** Ours over the baseline: the ratio of the means, and round by round. */
function ratio(pair) {
  const ours = summary(pair.ours);
  const base = summary(pair.baseline);
  if (!ours || !base) return undefined;
  const rounds = pair.ours.rounds.map((r, i) => r.rps / pair.baseline.rounds[i].rps);
  return { value: ours.rps / base.rps, rounds };
}

function row(pair, side, isOurs) {
  const s = summary(side);
  const label = `${pair.name}: ${side.label}`;
  if (!s) return [label, "not available", "", "", "", "", "", "", "", ""];
  const r = isOurs ? ratio(pair) : undefined;
  const { burst, spaced } = side.commands;
  const counts = (c) => `${perRead(c.perRead)} (+${perRead(c.scriptPerRead)})`;
  const list = (counts) =>
    Object.entries(counts)
      .map(([name, n]) => `${name} ${perRead(n)}`)
      .join(", ");
  const names = (c) =>
    `${list(c.byCommand)}${c.scriptPerRead ? ` [in scripts: ${list(c.inScripts)}]` : ""}`;
  return [
    label,
    fmtInt(s.rps),
    isOurs ? (r ? `${f2(r.value)}×` : "") : "1.00×",
    String(Math.round(s.p50)),
    String(Math.round(s.p99)),
    Number.isNaN(s.cpu) ? "?" : String(Math.round(s.cpu)),
    counts(burst),
    counts(spaced),
    names(spaced),
    String(s.failures),
  ];
}

/** Prints the table and the targets; returns the target lines. */
export function report({ env, settings, results }) {
  const rows = results.flatMap((pair) => [
    row(pair, pair.baseline, false),
    row(pair, pair.ours, true),
  ]);
  const unavailable = results.flatMap((pair) =>
    [pair.baseline, pair.ours]
      .filter((side) => side.unavailable)
      .map((side) => `not available: ${pair.name}: ${side.label}: ${side.unavailable}`),
  );
  console.log(
    table(
      "server-side sessions: GET /me, a signed-in read",
      [
        "",
        "req/s",
        "× baseline",
        "p50 ms",
        "p99 ms",
        "app CPU µs/req",
        "cmds/read burst",
        "cmds/read apart",
        "sent per read, apart",
        "non-2xx+errors",
      ],
      rows,
      [
        `req/s: autocannon's mean of per-second samples, the mean of ${settings.rounds} rounds of ${settings.seconds} s at ${settings.connections} connections (order alternating per round); latency: autocannon's, ms, the mean of the rounds`,
        `cmds/read: Redis commands the app's connections sent per read (MONITOR), (+ those Lua scripts ran for them); burst: ${settings.reads} reads back to back; apart: ${settings.spaced.reads} reads ${settings.spaced.pauseMs / 1000} s apart (a store that touches at most once a second touches on each)`,
        "app CPU µs/req: the app process's user + system CPU time (/proc) over the requests it served, the mean of the rounds: less swayed than req/s by what else the machine runs",
        "the load generator runs in the bench's process and shares the CPUs with the app under load",
        ...unavailable,
      ],
    ),
  );
  const lines = results.flatMap(targets);
  console.log(`\ntargets:\n${lines.map((l) => `  ${l}`).join("\n")}`);
  console.log(
    `load average ${env.loadAverageStart} at start, ${env.loadAverageEnd} at end; CPU pressure` +
      ` (PSI some avg10) ${env.cpuPressureStart ?? "?"}% at start, ${env.cpuPressureEnd ?? "?"}% at end` +
      " (other processes on the machine skew timings)",
  );
  const { build } = env;
  console.log(
    `build measured: ${build.from} written ${build.builtAt} (git ${build.head}` +
      `${build.uncommitted.length ? `; these files differed from it at the start: ${build.uncommitted.join(", ")}` : ""})`,
  );
  for (const pair of results) {
    for (const problem of pair.problems) console.log(`problem: ${pair.name}: ${problem}`);
  }
  return lines;
}

function targets(pair) {
  const head = `${pair.name}: ${pair.ours.label}`;
  const r = ratio(pair);
  if (!r) {
    const why = pair.ours.unavailable ?? pair.baseline.unavailable ?? "no rounds ran";
    return [
      `${head} ≥ ${f2(pair.target)}× req/s of ${pair.baseline.label}: not available (${why})`,
    ];
  }
  const verdict = (ok) => (ok ? "PASS" : "MISS");
  const lines = [
    `${head} ≥ ${f2(pair.target)}× req/s of ${pair.baseline.label}: ${f2(r.value)}× (rounds ${r.rounds.map(f2).join(", ")}) -> ${verdict(r.value >= pair.target)}`,
  ];
  if (pair.fewerCommands) {
    // Sent and run by scripts together, in a burst and with reads apart: fewer in both.
    const total = (c) => c.perRead + c.scriptPerRead;
    const [ours, base] = [pair.ours, pair.baseline].map(({ commands }) => [
      total(commands.burst),
      total(commands.spaced),
    ]);
    const fewer = ours.every((n, i) => n < base[i]);
    lines.push(
      `${head} fewer Redis commands per read than ${pair.baseline.label} (sent + in scripts; burst, apart): ${ours.map(perRead).join(", ")} against ${base.map(perRead).join(", ")} -> ${verdict(fewer)}`,
    );
  }
  return lines;
}
