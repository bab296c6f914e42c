/** Debian's Chromium; `CHROMIUM_PATH` points elsewhere (another distribution, macOS). */
export const chromiumPath: string;
/** Flags for a headless Chromium in a container: no sandbox, no GPU, no calls home. */
export const chromiumArgs: string[];
