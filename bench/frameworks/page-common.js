// What the React and Vue pages share: the ids, a count of the manager's listeners, the commit
// reports each component sends, and the loop that touches one session at a time.

/** The sessions "user0" … "user99", one per component. */
export const ids = Array.from({ length: 100 }, (_, i) => `user${i}`);

/** Wraps `sm.on` to count the listeners attached to the manager at a given moment. */
export function countListeners(sm) {
  const on = sm.on.bind(sm);
  let active = 0;
  sm.on = (event, fn) => {
    active++;
    const off = on(event, fn);
    let done = false;
    return () => {
      if (!done) active--;
      done = true;
      off();
    };
  };
  return { active: () => active };
}

/**
 * Each component calls the reporter after each commit with its id and the version it shows;
 * `waitFor(id, version)` resolves once that component showed `version` or later.
 */
export function reporter() {
  const shown = new Map();
  const waiting = new Map();
  let onAll;
  const report = (id, version) => {
    if (version === undefined) return;
    shown.set(id, version);
    const waiter = waiting.get(id);
    if (waiter && version >= waiter.version) {
      waiting.delete(id);
      waiter.resolve();
    }
    if (onAll && shown.size === ids.length) onAll();
  };
  report.version = (id) => shown.get(id);
  report.allLoaded = () =>
    new Promise((resolve) => {
      onAll = resolve;
      if (shown.size === ids.length) resolve();
    });
  report.waitFor = (id, version) =>
    (shown.get(id) ?? 0) >= version
      ? Promise.resolve()
      : new Promise((resolve) => waiting.set(id, { version, resolve }));
  return report;
}

/**
 * Lets what a change scheduled run out (the framework's task, a `get` that was started), then
 * waits for a frame: each touch starts on a page that has painted, as a real one does, seconds
 * after the last. (Touches back to back, with no frame between, time a React update made in a
 * later task at a tenth of one made at once: the DOM work then waits for the next frame.)
 */
const settle = async () => {
  for (let i = 0; i < 3; i++) await new Promise((resolve) => setTimeout(resolve, 0));
  await new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
};

const WARMUP = 30;

/**
 * Touches `touches` sessions one after another (after a warm-up), each time timing the touch
 * alone and the touch up to the commit of the component that shows it, then counting which
 * components rendered because of it.
 */
export async function runTouches({ sm, touches, renders, report, components }) {
  const times = [];
  const touchTimes = [];
  const perTouch = [];
  let touchedRendered = 0;
  const versions = new Map();
  for (let k = 0; k < WARMUP + touches; k++) {
    const index = (k * 37) % ids.length;
    const id = ids[index];
    await settle();
    const before = renders.slice();
    const next = (components ? report.version(id) : (versions.get(id) ?? 1)) + 1;
    const t0 = performance.now();
    const committed = components ? report.waitFor(id, next) : undefined;
    const session = await sm.touch(id);
    const t1 = performance.now();
    await committed;
    const t2 = performance.now();
    if (session.version !== next)
      throw new Error(`expected version ${next}, got ${session.version}`);
    versions.set(id, session.version);
    await settle();
    if (k < WARMUP) continue;
    touchTimes.push(t1 - t0);
    times.push(t2 - t0);
    let rendered = 0;
    let total = 0;
    for (let i = 0; i < renders.length; i++) {
      const d = renders[i] - before[i];
      if (d > 0) rendered++;
      total += d;
      if (i === index && d > 0) touchedRendered++;
    }
    perTouch.push({ rendered, total });
  }
  const sorted = (xs) => xs.slice().sort((a, b) => a - b);
  const pick = (xs, q) => sorted(xs)[Math.min(xs.length - 1, Math.floor(q * xs.length))];
  const rendered = perTouch.map((p) => p.rendered);
  return {
    touches,
    componentsMin: Math.min(...rendered),
    componentsMax: Math.max(...rendered),
    rendersPerTouch: perTouch.reduce((sum, p) => sum + p.total, 0) / touches,
    touchedRendered,
    touchMedian: pick(touchTimes, 0.5),
    median: pick(times, 0.5),
    p95: pick(times, 0.95),
  };
}
