/**
 * Calls `fn` when a page may have slept: browsers throttle timers in background tabs and freeze
 * them in bfcache or on a sleeping laptop, so a timer can wake far too late or not at all. These
 * events are when the page is back: shown again (`visibilitychange`), resumed after Chromium
 * froze it (`resume`, Page Lifecycle API: a visible page can be frozen and resumed without any
 * other event), restored from bfcache (`pageshow`), focused, or back online. Returns the
 * function that stops listening. Outside a page (Node, workers without `document`) it does
 * nothing.
 */
export function onWake(fn: () => void): () => void {
  const target = globalThis as unknown as Partial<Window>;
  const doc = target.document;
  if (!doc || typeof target.addEventListener !== "function") return () => {};
  const onVisible = () => {
    if (doc.visibilityState !== "hidden") fn();
  };
  doc.addEventListener("visibilitychange", onVisible);
  doc.addEventListener("resume", fn);
  for (const type of ["pageshow", "focus", "online"]) target.addEventListener(type, fn);
  return () => {
    doc.removeEventListener("visibilitychange", onVisible);
    doc.removeEventListener("resume", fn);
    for (const type of ["pageshow", "focus", "online"]) target.removeEventListener?.(type, fn);
  };
}
