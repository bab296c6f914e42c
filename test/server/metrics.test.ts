import { spawn } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { afterEach, describe, expect, it, vi } from "vitest";
import { healthResponse, storeProbe } from "../../src/server/health.ts";
import {
  createMetrics,
  type Metrics,
  type MetricsOptions,
  routePattern,
  tagErrorCode,
} from "../../src/server/metrics.ts";
import { resolveOperations } from "../../src/server/options.ts";
import { EXPOSITION_TYPE, Histogram, render, Scalar } from "../../src/server/prometheus.ts";
import { runtimeFigures } from "../../src/server/runtime-figures.ts";
import { tempDir } from "../helpers/temp.ts";

const TOKEN = "mT4q9vZ2xR7kL1pW8sN3bC6yH0dF5gJ+/_-.~";
const BASE = "http://sessions.test";

// ---- a tiny parser of the text format (0.0.4), strict enough to catch malformed output ----

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}
interface Scrape {
  help: Map<string, string>;
  type: Map<string, string>;
  samples: Sample[];
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\[\\"n])*)"(,|$)/;

function parse(text: string): Scrape {
  expect(text.endsWith("\n")).toBe(true);
  const scrape: Scrape = { help: new Map(), type: new Map(), samples: [] };
  for (const line of text.slice(0, -1).split("\n")) {
    const comment = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
    if (comment) {
      const [, kind, name = "", rest = ""] = comment;
      if (kind === "HELP") scrape.help.set(name, unescapeText(rest));
      else {
        // A family's TYPE comes before its samples.
        expect(scrape.samples.some((s) => familyOf(s.name, scrape) === name)).toBe(false);
        scrape.type.set(name, rest);
      }
      continue;
    }
    const match = SAMPLE.exec(line);
    if (!match) throw new Error(`not a sample line: ${JSON.stringify(line)}`);
    const [, name = "", body = "", raw = ""] = match;
    scrape.samples.push({ name, labels: parseLabels(body), value: parseValue(raw) });
  }
  return scrape;
}

function parseLabels(body: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let rest = body;
  while (rest !== "") {
    const match = LABEL.exec(rest);
    if (!match) throw new Error(`bad labels: ${body}`);
    const [whole, name = "", value = ""] = match;
    labels[name] = unescapeText(value);
    rest = rest.slice(whole.length);
  }
  return labels;
}

function unescapeText(text: string): string {
  return text.replace(/\\([\\"n])/g, (_, c: string) => (c === "n" ? "\n" : c));
}

function parseValue(raw: string): number {
  if (raw === "+Inf") return Number.POSITIVE_INFINITY;
  if (raw === "-Inf") return Number.NEGATIVE_INFINITY;
  if (raw === "NaN") return Number.NaN;
  const value = Number(raw);
  if (!/^-?\d+(\.\d+)?(e[-+]?\d+)?$/.test(raw)) throw new Error(`bad value ${raw}`);
  return value;
}

function familyOf(sample: string, scrape: Scrape): string {
  if (scrape.type.has(sample)) return sample;
  return sample.replace(/_(bucket|sum|count)$/, "");
}

function values(scrape: Scrape, name: string, labels: Record<string, string> = {}): number[] {
  return scrape.samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .map((s) => s.value);
}

function one(scrape: Scrape, name: string, labels: Record<string, string> = {}): number {
  const found = values(scrape, name, labels);
  expect(found, `${name} ${JSON.stringify(labels)}`).toHaveLength(1);
  return found[0] ?? Number.NaN;
}

// ---- helpers ----

const made: Metrics[] = [];
afterEach(() => {
  for (const metrics of made.splice(0)) metrics.close();
});

function metricsOf(options: MetricsOptions): Metrics {
  const metrics = createMetrics(options);
  made.push(metrics);
  return metrics;
}

function get(path: string, headers: Record<string, string> = {}, method = "GET"): Request {
  return new Request(`${BASE}${path}`, { method, headers });
}

async function scrape(metrics: Metrics, basePath = "", headers = {}): Promise<Scrape> {
  const response = await metrics.handle(get(`${basePath}/metrics`, headers), basePath);
  expect(response?.status).toBe(200);
  expect(response?.headers.get("content-type")).toBe(EXPOSITION_TYPE);
  return parse(await (response as Response).text());
}

function answer(status: number, code?: string): Response {
  const response = new Response(null, { status });
  if (code) tagErrorCode(response, code);
  return response;
}

// ---- tests ----

describe("the text format", () => {
  it("writes HELP and TYPE before the samples, and escapes label values and help text", () => {
    const odd = 'a\\b"c\nd';
    const counter = new Scalar("x_total", "help with \\ and\nnewline", "counter", ["v"]);
    counter.inc([odd]);
    counter.inc([odd], 2);
    counter.inc(["plain"]);
    const text = render([counter]);
    expect(text).toContain('x_total{v="a\\\\b\\"c\\nd"} 3\n');
    expect(text.split("\n")).toHaveLength(5);
    const parsed = parse(text);
    expect(parsed.help.get("x_total")).toBe("help with \\ and\nnewline");
    expect(parsed.type.get("x_total")).toBe("counter");
    expect(one(parsed, "x_total", { v: odd })).toBe(3);
    expect(one(parsed, "x_total", { v: "plain" })).toBe(1);
  });

  it("spells special values as the format does", () => {
    const gauge = new Scalar("g", "g", "gauge", ["k"]);
    gauge.set(Number.NaN, ["nan"]);
    gauge.set(Number.POSITIVE_INFINITY, ["inf"]);
    gauge.set(Number.NEGATIVE_INFINITY, ["-inf"]);
    gauge.set(0.25, ["q"]);
    const text = render([gauge]);
    expect(text).toContain('g{k="nan"} NaN');
    expect(text).toContain('g{k="inf"} +Inf');
    expect(text).toContain('g{k="-inf"} -Inf');
    expect(one(parse(text), "g", { k: "q" })).toBe(0.25);
  });

  it("writes histograms with cumulative buckets, +Inf equal to _count, and _sum", () => {
    const histogram = new Histogram("d_seconds", "d", ["r"], [0.1, 1, 10]);
    for (const v of [0.05, 0.1, 0.5, 0.5, 2, 20, 30]) histogram.observe(v, ["a"]);
    histogram.observe(0.01, ["b"]);
    const parsed = parse(render([histogram]));
    expect(parsed.type.get("d_seconds")).toBe("histogram");
    const le = (bound: string) => one(parsed, "d_seconds_bucket", { r: "a", le: bound });
    // 0.1 is in le="0.1": a bucket counts values up to and including its bound.
    expect([le("0.1"), le("1"), le("10"), le("+Inf")]).toEqual([2, 4, 5, 7]);
    expect(one(parsed, "d_seconds_count", { r: "a" })).toBe(7);
    expect(one(parsed, "d_seconds_sum", { r: "a" })).toBeCloseTo(53.15, 10);
    expect(one(parsed, "d_seconds_bucket", { r: "b", le: "0.1" })).toBe(1);
    expect(one(parsed, "d_seconds_bucket", { r: "b", le: "+Inf" })).toBe(1);
  });
});

describe("routePattern", () => {
  it("names a route by its pattern, never by a session id", () => {
    expect(routePattern("/v1/sessions", "")).toBe("/v1/sessions");
    expect(routePattern("/v1/sessions/s3cr3t-id", "")).toBe("/v1/sessions/:id");
    expect(routePattern("/v1/sessions/s3cr3t-id/touch", "")).toBe("/v1/sessions/:id/touch");
    expect(routePattern("/api/v1/changes", "/api")).toBe("/v1/changes");
    expect(routePattern("/api/v1/events", "/api")).toBe("/v1/events");
    expect(routePattern("/api/metrics", "/api")).toBe("/metrics");
    expect(routePattern("/health", "")).toBe("/health");
  });

  it("puts every other path under `unmatched`", () => {
    for (const path of [
      "/",
      "/v1",
      "/v1/",
      "/v1/s3cr3t",
      "/v1/sessions/",
      "/v1/sessions/a/b",
      "/v1/sessions/a/touch/x",
      "/v1/changes/x",
      "/v2/sessions",
      "/other/v1/sessions",
    ]) {
      expect(routePattern(path, ""), path).toBe("unmatched");
    }
    expect(routePattern("/v1/sessions", "/api")).toBe("unmatched");
  });
});

describe("createMetrics: off by default", () => {
  it("answers no route and counts nothing with no options, or both false", async () => {
    for (const options of [{}, { metrics: false, health: false }]) {
      const metrics = metricsOf(options);
      metrics.observe(get("/v1/sessions"), answer(200), 1, "/v1/sessions");
      metrics.streamOpened();
      expect(metrics.handle(get("/metrics"), "")).toBeUndefined();
      expect(metrics.handle(get("/health"), "")).toBeUndefined();
    }
    // One shared object of no-ops: nothing is allocated per server.
    expect(createMetrics({})).toBe(createMetrics({ metrics: false }));
  });

  it("answers only the route that is on, only for GET and HEAD, only under basePath", async () => {
    const onlyHealth = metricsOf({ health: true });
    expect(onlyHealth.handle(get("/metrics"), "")).toBeUndefined();
    expect((await onlyHealth.handle(get("/health"), ""))?.status).toBe(200);
    const onlyMetrics = metricsOf({ metrics: true });
    expect(onlyMetrics.handle(get("/health"), "")).toBeUndefined();
    expect(onlyMetrics.handle(get("/metrics", {}, "POST"), "")).toBeUndefined();
    expect(onlyMetrics.handle(get("/metrics"), "/api")).toBeUndefined();
    expect(onlyMetrics.handle(get("/v1/metrics"), "")).toBeUndefined();
    expect((await onlyMetrics.handle(get("/api/metrics"), "/api"))?.status).toBe(200);
    expect((await onlyMetrics.handle(get("/metrics", {}, "HEAD"), ""))?.status).toBe(200);
  });
});

describe("createMetrics: counts", () => {
  it("counts requests by method, route and status, and their durations", async () => {
    const metrics = metricsOf({ metrics: true });
    const put = get("/v1/sessions/a", {}, "PUT");
    metrics.observe(put, answer(201), 3, "/v1/sessions/:id");
    metrics.observe(put, answer(200), 40, "/v1/sessions/:id");
    metrics.observe(put, answer(200), 700, "/v1/sessions/:id");
    metrics.observe(get("/v1/sessions"), answer(200), 12_000, "/v1/sessions");
    const parsed = await scrape(metrics);
    const route = "/v1/sessions/:id";
    const requests = "sessionmanager_requests_total";
    expect(parsed.type.get(requests)).toBe("counter");
    expect(one(parsed, requests, { method: "PUT", route, status: "201" })).toBe(1);
    expect(one(parsed, requests, { method: "PUT", route, status: "200" })).toBe(2);
    expect(one(parsed, requests, { method: "GET", route: "/v1/sessions", status: "200" })).toBe(1);
    const duration = "sessionmanager_request_duration_seconds";
    expect(parsed.type.get(duration)).toBe("histogram");
    const bucket = (le: string) => one(parsed, `${duration}_bucket`, { method: "PUT", route, le });
    expect(bucket("0.005")).toBe(1);
    expect(bucket("0.05")).toBe(2);
    expect(bucket("1")).toBe(3);
    expect(bucket("+Inf")).toBe(3);
    const les = values(parsed, `${duration}_bucket`, { method: "GET", route: "/v1/sessions" });
    expect(les).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    expect(one(parsed, `${duration}_sum`, { method: "PUT", route })).toBeCloseTo(0.743, 10);
    expect(one(parsed, `${duration}_count`, { method: "PUT", route })).toBe(3);
  });

  it("finds the route pattern in the path when none is given, under the options' basePath", async () => {
    const metrics = metricsOf({ metrics: true, basePath: "/api" });
    const secret = "s3cr3t-session-id";
    metrics.observe(get(`/api/v1/sessions/${secret}`, {}, "DELETE"), answer(200), 2);
    metrics.observe(get(`/api/v1/sessions/${secret}/touch`, {}, "POST"), answer(200), 2);
    metrics.observe(get(`/v1/sessions/${secret}`), answer(404, "NOT_FOUND"), 2);
    metrics.observe(get("/api/v1/changes?since=/v1/x#y"), answer(200), 2);
    metrics.observe(get("/api/v1/sessions?limit=5"), answer(200), 2);
    const response = await metrics.handle(get("/api/metrics"));
    const text = (await response?.text()) ?? "";
    expect(text).not.toContain(secret);
    const parsed = parse(text);
    const requests = "sessionmanager_requests_total";
    expect(one(parsed, requests, { method: "DELETE", route: "/v1/sessions/:id" })).toBe(1);
    expect(one(parsed, requests, { method: "POST", route: "/v1/sessions/:id/touch" })).toBe(1);
    expect(one(parsed, requests, { method: "GET", route: "unmatched", status: "404" })).toBe(1);
    expect(one(parsed, requests, { method: "GET", route: "/v1/changes" })).toBe(1);
    expect(one(parsed, requests, { method: "GET", route: "/v1/sessions" })).toBe(1);
    // The options' basePath is the default of handle's.
    expect(metrics.handle(get("/metrics"))).toBeUndefined();
  });

  it("counts errors by the tagged code, else HTTP_<status>; not successes", async () => {
    const metrics = metricsOf({ metrics: true });
    const request = get("/v1/sessions/a");
    metrics.observe(request, answer(404, "SESSION_NOT_FOUND"), 1, "/v1/sessions/:id");
    metrics.observe(request, answer(404, "SESSION_NOT_FOUND"), 1, "/v1/sessions/:id");
    metrics.observe(request, answer(503), 1, "/v1/sessions/:id");
    metrics.observe(request, answer(200), 1, "/v1/sessions/:id");
    metrics.observe(request, answer(304), 1, "/v1/sessions/:id");
    const parsed = await scrape(metrics);
    const errors = "sessionmanager_errors_total";
    expect(one(parsed, errors, { code: "SESSION_NOT_FOUND" })).toBe(2);
    expect(one(parsed, errors, { code: "HTTP_503" })).toBe(1);
    expect(values(parsed, errors)).toHaveLength(2);
  });

  it("bounds every label: odd methods, routes and codes become `other`, and so do new ones past the cap", async () => {
    const metrics = metricsOf({ metrics: true });
    metrics.observe(get("/x", {}, "PROPFIND"), answer(200), 1, "/v1/sessions");
    metrics.observe(get("/x"), answer(200), 1, "/v1/sessions/raw id with spaces");
    metrics.observe(get("/x"), answer(400, 'bad"code\n'), 1, "/v1/sessions");
    for (let i = 0; i < 100; i++) metrics.observe(get("/x"), answer(200), 1, `/r${i}`);
    for (let i = 0; i < 100; i++) metrics.observe(get("/x"), answer(400, `CODE_${i}`), 1, "/x");
    const parsed = await scrape(metrics);
    const requests = "sessionmanager_requests_total";
    expect(one(parsed, requests, { method: "other", route: "/v1/sessions" })).toBe(1);
    const seen = new Set(
      parsed.samples.filter((s) => s.name === requests).map((s) => s.labels.route),
    );
    expect(seen.size).toBeLessThanOrEqual(33);
    expect(seen.has("other")).toBe(true);
    expect(seen.has("/v1/sessions/raw id with spaces")).toBe(false);
    const codes = parsed.samples.filter((s) => s.name === "sessionmanager_errors_total");
    expect(codes.length).toBeLessThanOrEqual(49);
    expect(codes.some((s) => s.labels.code === 'bad"code\n')).toBe(false);
    expect(codes.find((s) => s.labels.code === "other")?.value).toBeGreaterThan(50);
  });

  it("tracks open streams (never below 0) and streams opened", async () => {
    const metrics = metricsOf({ metrics: true });
    let parsed = await scrape(metrics);
    expect(one(parsed, "sessionmanager_open_streams")).toBe(0);
    expect(one(parsed, "sessionmanager_streams_opened_total")).toBe(0);
    metrics.streamOpened();
    metrics.streamOpened();
    metrics.streamOpened();
    metrics.streamClosed();
    parsed = await scrape(metrics);
    expect(parsed.type.get("sessionmanager_open_streams")).toBe("gauge");
    expect(one(parsed, "sessionmanager_open_streams")).toBe(2);
    expect(one(parsed, "sessionmanager_streams_opened_total")).toBe(3);
    for (let i = 0; i < 5; i++) metrics.streamClosed();
    parsed = await scrape(metrics);
    expect(one(parsed, "sessionmanager_open_streams")).toBe(0);
  });

  it("takes the count of open streams as it is now, a rise counting as streams opened", async () => {
    const metrics = metricsOf({ metrics: true });
    metrics.streamCount(1);
    metrics.streamCount(4);
    metrics.streamCount(2);
    metrics.streamCount(3);
    const parsed = await scrape(metrics);
    expect(one(parsed, "sessionmanager_open_streams")).toBe(3);
    expect(one(parsed, "sessionmanager_streams_opened_total")).toBe(5);
  });

  it("reports the store as set, and as each scrape's check finds it", async () => {
    const unchecked = metricsOf({ metrics: true });
    expect(values(await scrape(unchecked), "sessionmanager_store_up")).toEqual([]);
    unchecked.setStoreUp(false);
    expect(one(await scrape(unchecked), "sessionmanager_store_up")).toBe(0);
    unchecked.setStoreUp(true);
    expect(one(await scrape(unchecked), "sessionmanager_store_up")).toBe(1);

    let failing = false;
    const check = vi.fn(async () => {
      if (failing) throw new Error("ECONNREFUSED 10.0.0.7:6379");
    });
    const checked = metricsOf({ metrics: true, check });
    expect(one(await scrape(checked), "sessionmanager_store_up")).toBe(1);
    failing = true;
    expect(one(await scrape(checked), "sessionmanager_store_up")).toBe(0);
    expect(check).toHaveBeenCalledTimes(2);
  });

  it("reports the process's memory and event-loop delay on Node", async () => {
    const metrics = metricsOf({ metrics: true });
    // Block the loop for 100 ms once the sampler (20 ms resolution) runs, then let it see it.
    await new Promise((resolve) => setTimeout(resolve, 30));
    const until = Date.now() + 100;
    while (Date.now() < until) {
      // busy
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
    const parsed = await scrape(metrics);
    expect(one(parsed, "process_resident_memory_bytes")).toBeGreaterThan(1e6);
    expect(one(parsed, "nodejs_heap_size_used_bytes")).toBeGreaterThan(1e5);
    expect(parsed.type.get("nodejs_eventloop_lag_p99_seconds")).toBe("gauge");
    expect(one(parsed, "nodejs_eventloop_lag_p99_seconds")).toBeGreaterThan(0.05);
  });
});

describe("runtime figures where Node's APIs are missing (Bun, Deno, workers)", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("leaves out what the runtime lacks, and never throws", () => {
    const stubs: unknown[] = [
      undefined,
      {},
      { memoryUsage: 1, getBuiltinModule: () => undefined },
      { getBuiltinModule: () => ({}) },
      {
        memoryUsage: () => {
          throw new Error("not allowed");
        },
        getBuiltinModule: () => ({
          monitorEventLoopDelay: () => {
            throw new Error("not implemented");
          },
        }),
      },
    ];
    for (const stub of stubs) {
      vi.stubGlobal("process", stub);
      const figures = runtimeFigures();
      expect(figures.read()).toEqual({});
      figures.close();
      vi.unstubAllGlobals();
    }
  });

  it("scrapes without them", async () => {
    vi.stubGlobal("process", undefined);
    const metrics = metricsOf({ metrics: true });
    vi.unstubAllGlobals();
    const text = await (await metrics.handle(get("/metrics"), ""))?.text();
    const parsed = parse(text ?? "");
    expect(parsed.type.has("sessionmanager_requests_total")).toBe(true);
    expect(parsed.type.has("process_resident_memory_bytes")).toBe(false);
    expect(parsed.type.has("nodejs_eventloop_lag_p99_seconds")).toBe(false);
  });

  it("does not keep a Node process alive", async () => {
    const dir = await tempDir("sm-metrics-");
    const out = join(dir, "figures.mjs");
    const source = fileURLToPath(new URL("../../src/server/runtime-figures.ts", import.meta.url));
    await build({
      entryPoints: [source],
      bundle: true,
      format: "esm",
      outfile: out,
      logLevel: "silent",
    });
    const script = `import(${JSON.stringify(out)}).then((m) => { const f = m.runtimeFigures(); console.log(JSON.stringify(Object.keys(f.read()))); });`;
    const child = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "inherit"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    const code = await new Promise<number | null>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill();
        reject(new Error("the process did not exit: the sampler keeps it alive"));
      }, 5000);
      child.on("exit", (exit) => {
        clearTimeout(timer);
        resolve(exit);
      });
    });
    expect(code).toBe(0);
    expect(JSON.parse(output)).toEqual(expect.arrayContaining(["rssBytes", "heapUsedBytes"]));
  });
});

describe("the metrics token", () => {
  it("is checked at construction: a TypeError for a weak, odd or missing one", () => {
    const bad: unknown[] = [
      {},
      { token: undefined },
      { token: 42 },
      { token: "short-token" },
      { token: "a".repeat(64) },
      { token: "abababababababababababababababababab" },
      { token: `${TOKEN} with spaces` },
      { token: `${TOKEN}\n` },
      { token: `é${TOKEN}` },
      null,
      "yes",
      1,
    ];
    for (const metrics of bad) {
      expect(() => createMetrics({ metrics: metrics as boolean }), JSON.stringify(metrics)).toThrow(
        TypeError,
      );
    }
    expect(() => createMetrics({ health: "yes" as unknown as boolean })).toThrow(
      /health must be a boolean/,
    );
    expect(() => createMetrics({ metrics: { token: "short" } })).toThrow(/at least 32/);
    expect(resolveOperations({ metrics: { token: TOKEN } }).metrics).toEqual({ token: TOKEN });
    expect(resolveOperations({ metrics: { token: `${"Ab1-Cd2_Ef3.".repeat(3)}==` } }).health).toBe(
      false,
    );
    expect(resolveOperations({ metrics: true, health: true })).toEqual({
      metrics: { token: undefined },
      health: true,
    });
  });

  it("never appears in the error message", () => {
    const weak = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    expect(() => createMetrics({ metrics: { token: weak } })).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining(weak) }),
    );
  });

  it("is asked for: 401 without it or with another, 200 with it", async () => {
    const metrics = metricsOf({ metrics: { token: TOKEN } });
    const status = async (headers: Record<string, string>) => {
      const response = await metrics.handle(get("/metrics", headers), "");
      const text = (await response?.text()) ?? "";
      if (response?.status === 401) {
        expect(response.headers.get("www-authenticate")).toBe('Bearer realm="metrics"');
        expect(JSON.parse(text).error.code).toBe("UNAUTHORIZED");
        expect(text).not.toContain(TOKEN);
      }
      return response?.status;
    };
    expect(await status({})).toBe(401);
    expect(await status({ authorization: "Bearer" })).toBe(401);
    expect(await status({ authorization: `Bearer ${TOKEN}x` })).toBe(401);
    expect(await status({ authorization: `Bearer ${TOKEN.slice(0, -1)}` })).toBe(401);
    expect(await status({ authorization: `Bearer ${TOKEN.replace("m", "n")}` })).toBe(401);
    expect(await status({ authorization: `Basic ${TOKEN}` })).toBe(401);
    expect(await status({ authorization: TOKEN })).toBe(401);
    expect(await status({ authorization: `Bearer ${TOKEN} extra` })).toBe(401);
    expect(await status({ authorization: `Bearer ${TOKEN}` })).toBe(200);
    expect(await status({ authorization: `bearer ${TOKEN}` })).toBe(200);
  });

  it("leaves /health open", async () => {
    const metrics = metricsOf({ metrics: { token: TOKEN }, health: true });
    expect((await metrics.handle(get("/health"), ""))?.status).toBe(200);
  });
});

describe("GET /health", () => {
  const body = async (response: Response | undefined) => ({
    status: response?.status,
    body: await response?.text(),
    cache: response?.headers.get("cache-control"),
  });

  it("is 200 ok while the check passes, 503 unavailable (and nothing more) when it fails", async () => {
    let failure: Error | undefined;
    const check = async () => {
      if (failure) throw failure;
    };
    const metrics = metricsOf({ health: true, check });
    const ok = { status: 200, body: '{"status":"ok"}', cache: "no-store" };
    const down = { status: 503, body: '{"status":"unavailable"}', cache: "no-store" };
    expect(await body(await metrics.handle(get("/health"), ""))).toEqual(ok);
    failure = new Error("connect ECONNREFUSED 10.0.0.7:5432 user=admin");
    expect(await body(await metrics.handle(get("/health"), ""))).toEqual(down);
    failure = undefined;
    expect(await body(await metrics.handle(get("/health"), ""))).toEqual(ok);
  });

  it("counts a check that throws at once as down", async () => {
    const check = (): Promise<void> => {
      throw new Error("sync");
    };
    const metrics = metricsOf({ health: true, check });
    expect((await metrics.handle(get("/health"), ""))?.status).toBe(503);
  });

  it("counts a check that takes too long as down", async () => {
    const never = () => new Promise<void>(() => {});
    const started = Date.now();
    const response = await healthResponse(storeProbe(never, 50));
    expect(response.status).toBe(503);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it("runs one check for probes that arrive together", async () => {
    let release = () => {};
    const check = vi.fn(
      () =>
        new Promise<void>((resolve) => {
          release = resolve;
        }),
    );
    const metrics = metricsOf({ health: true, check });
    const answers = Array.from({ length: 20 }, () => metrics.handle(get("/health"), ""));
    await vi.waitFor(() => expect(check).toHaveBeenCalled());
    release();
    const statuses = await Promise.all(answers.map(async (a) => (await a)?.status));
    expect(statuses).toEqual(new Array(20).fill(200));
    expect(check).toHaveBeenCalledTimes(1);
    // Once answered, the next probe checks again.
    const next = metrics.handle(get("/health"), "");
    await vi.waitFor(() => expect(check).toHaveBeenCalledTimes(2));
    release();
    expect((await next)?.status).toBe(200);
  });

  it("sets store_up for the metrics", async () => {
    const metrics = metricsOf({
      metrics: true,
      health: true,
      check: async () => Promise.reject(new Error("down")),
    });
    await metrics.handle(get("/health"), "");
    expect(one(await scrape(metrics), "sessionmanager_store_up")).toBe(0);
  });
});
