// The process's own figures for a scrape: memory and event-loop delay. Node's APIs are looked up
// at run time (`globalThis.process`, `process.getBuiltinModule`), never imported: the server
// entry also runs on Bun, Deno and workers, where some or all of them are missing, and there a
// figure is left out rather than the server failing to load or answer.

/** What `process.memoryUsage()` gives, where there is one. */
interface MemoryUsage {
  rss: number;
  heapUsed: number;
}

/** The part of Node's `perf_hooks` event-loop delay histogram used here (nanoseconds). */
interface DelayHistogram {
  enable(): boolean;
  disable(): boolean;
  reset(): void;
  percentile(p: number): number;
  readonly count?: number;
}

interface NodeLike {
  memoryUsage?: (() => MemoryUsage) & { rss?: () => number };
  getBuiltinModule?: (id: string) => unknown;
}

/** One reading of the figures; a figure the runtime cannot give is absent. */
export interface RuntimeReading {
  rssBytes?: number;
  heapUsedBytes?: number;
  /** p99 of the event-loop delay since the previous reading, in seconds. */
  loopDelayP99Seconds?: number;
}

/** Reads the figures on demand; `close()` stops the event-loop sampler. */
export interface RuntimeFigures {
  read(): RuntimeReading;
  close(): void;
}

// Sampling period of the event-loop delay, in ms (Node's default is 10).
const LOOP_RESOLUTION_MS = 20;
const NS_PER_SECOND = 1e9;

/** Starts sampling the event-loop delay where the runtime can; reads memory on demand. */
export function runtimeFigures(): RuntimeFigures {
  const node = (globalThis as { process?: NodeLike }).process;
  const delay = loopDelay(node);
  return {
    read() {
      const reading: RuntimeReading = {};
      const memory = memoryOf(node);
      if (memory) {
        reading.rssBytes = memory.rss;
        reading.heapUsedBytes = memory.heapUsed;
      }
      if (delay) {
        const p99 = delay.percentile(99);
        // No sample yet (a scrape right after start): the histogram answers 0 or NaN.
        if (Number.isFinite(p99) && p99 > 0) reading.loopDelayP99Seconds = p99 / NS_PER_SECOND;
        // Each scrape reports the interval since the one before, as prom-client does.
        delay.reset();
      }
      return reading;
    },
    close() {
      delay?.disable();
    },
  };
}

function memoryOf(node: NodeLike | undefined): MemoryUsage | undefined {
  try {
    return node?.memoryUsage?.();
  } catch {
    // Deno Deploy and some workers define the function and throw when it is called.
    return undefined;
  }
}

/** Node's event-loop delay histogram, enabled; undefined where the runtime has none. */
function loopDelay(node: NodeLike | undefined): DelayHistogram | undefined {
  try {
    const hooks = node?.getBuiltinModule?.("node:perf_hooks") as
      | { monitorEventLoopDelay?: (options: { resolution: number }) => DelayHistogram }
      | undefined;
    const histogram = hooks?.monitorEventLoopDelay?.({ resolution: LOOP_RESOLUTION_MS });
    if (!histogram) return undefined;
    histogram.enable();
    return histogram;
  } catch {
    // Deno and Bun have declared this API and thrown "not implemented" in some versions.
    return undefined;
  }
}
