// Whether our pieces are in the build: the bench reports a piece that is missing as "not
// available" (with the reason) instead of a figure, and still measures its baseline.
import { fromDist } from "../lib/dist.mjs";

/** The exports each of our apps needs, by entry file of the build. */
const NEEDS = {
  "express-sessionmanager": { file: "express-session.js", names: ["SessionManagerStore"] },
  "hono-cookies": { file: "cookies.js", names: ["cookieSessions", "honoSessions"] },
};

/** Why `app` cannot run from this build, or undefined when it can (baselines always can). */
export async function missing(app) {
  const needs = NEEDS[app];
  if (!needs) return undefined;
  let mod;
  try {
    mod = await fromDist(needs.file);
  } catch (error) {
    return `dist/${needs.file}: ${error.message.split("\n")[0]}`;
  }
  const absent = needs.names.filter((name) => typeof mod[name] !== "function");
  if (absent.length === 0) return undefined;
  return `dist/${needs.file} exports no ${absent.join(", ")} (not landed yet)`;
}
