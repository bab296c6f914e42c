// Where Debian's Chromium is and how to launch it headless in a container: no sandbox, no GPU,
// no calls home. Plain JavaScript, so that the benchmarks (plain Node) share it with the tests.

/** Debian's Chromium; `CHROMIUM_PATH` points elsewhere (another distribution, macOS). */
export const chromiumPath = process.env.CHROMIUM_PATH || "/usr/bin/chromium";

export const chromiumArgs = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
