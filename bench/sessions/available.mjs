// Whether our pieces are in the build: the bench reports a piece that is missing as "not
// available" (with the reason) instead of a figure, and still measures its baseline.
import { join } from "node:path";
import { pathToFileURL } from "node:url";

/** The exports each of our apps needs, by entry file of the build. */
const NEEDS = {
  "express-sessionmanager": { file: "express-session.js", names: ["SessionManagerStore"] },
  "hono-cookies": { file: "cookies.js", names: ["cookieSessions", "honoSessions"] },
};

/**
 * Why `app` cannot run from the build in `dist` (a folder), or undefined when it can (baselines
 * always can).
 */
export async function missing(app, dist) {
  const needs = NEEDS[app];
  if (!needs) return undefined;
  let mod;
  try {
    mod = await import(pathToFileURL(join(dist, needs.file)).href);
  } catch (error) {
    return `${needs.file}: ${error.message.split("\n")[0]}`;
  }
  const absent = needs.names.filter((name) => typeof mod[name] !== "function");
  if (absent.length === 0) return undefined;
  return `${needs.file} exports no ${absent.join(", ")} (not landed yet)`;
}
