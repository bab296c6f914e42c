#!/usr/bin/env node
// A session's life in the terminal: added, warned before it runs out, extended by
// "stay signed in", warned again, and expired.
//
//   npm run demo                    # about 6 seconds
//   DEMO_SPEED=10 npm run demo      # the same story ten times faster (or: --speed 10)
//   DEMO_DEBUG=1 npm run demo       # also the manager's debug log (or: --debug)
//
// Times are printed in story time (as at speed 1), so the output reads the same at any speed.

import { SessionManager } from "../dist/index.js";

const args = process.argv.slice(2);
const flag = (name) => {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? undefined : (args[i + 1] ?? "");
};
const speed = Number(flag("speed") ?? process.env.DEMO_SPEED ?? 1);
const debug = args.includes("--debug") || Boolean(process.env.DEMO_DEBUG);
if (!(speed > 0)) {
  console.error(
    `DEMO_SPEED (or --speed) must be a positive number, got ${flag("speed") ?? process.env.DEMO_SPEED}`,
  );
  process.exit(2);
}

/** Story milliseconds -> real milliseconds. */
const ms = (storyMs) => storyMs / speed;
const start = performance.now();
const clock = () => `+${(((performance.now() - start) * speed) / 1000).toFixed(1)}s`;
const say = (event, id = "", detail = "") =>
  console.log(`${clock().padStart(6)}  ${event.padEnd(12)}  ${id.padEnd(7)}  ${detail}`.trimEnd());

const sm = new SessionManager({
  defaultTtl: ms(3000), // every session lives 3 s unless used
  warnBefore: ms(1000), // expiringSoon fires 1 s before the end
  // Debug lines show ids shortened and never session data.
  ...(debug ? { logger: console, logLevel: "debug" } : {}),
});

console.log(
  `sessionmanager demo: a 3s session is warned 1s before it ends, kept alive once, then expires${
    speed === 1 ? "" : ` (${speed}x speed)`
  }`,
);

// Every change to a session is an event.
sm.on("added", (s) => say("added", s.id, `expires in ${seconds(s.expiresAt - Date.now())}`));
sm.on("updated", (s) => say("updated", s.id, `version ${s.version}, expiry unchanged`));
sm.on("touched", (s) => say("touched", s.id, `expires in ${seconds(s.expiresAt - Date.now())}`));
sm.on("removed", (s) => say("removed", s.id));
sm.on("error", (error) => say("error", "", error.message));

// The UI's job: show a banner when the session is about to run out. The first time, the user
// clicks "stay signed in" half a second later; the second time, nobody is there.
let warnings = 0;
sm.onExpiringSoon((session, msLeft) => {
  say("expiringSoon", session.id, `${seconds(msLeft)} left`);
  if (++warnings === 1) {
    setTimeout(() => {
      say("(user)", "", 'clicks "stay signed in"');
      sm.touch(session.id).catch((error) => say("error", session.id, error.message));
    }, ms(500));
  }
});

// The manager's timer never keeps a Node process alive (it is unref'd), so the demo waits on
// the `expired` event with a timer of its own, which also stops it should the event never come.
const expired = new Promise((resolve, reject) => {
  const watchdog = setTimeout(() => reject(new Error("no expired event within 15s")), ms(15000));
  sm.onExpired((session) => {
    say("expired", session.id, "signed out");
    clearTimeout(watchdog);
    resolve();
  });
});

try {
  await sm.add("user123", { data: { name: "Ada", email: "ada@example.com" } });
  // An update changes data but not the expiry: only use (touch) extends a session.
  await sleep(ms(1000));
  await sm.update("user123", (old) => ({ ...old, theme: "dark" }));
  await expired;
  console.log(`${clock().padStart(6)}  done`);
} catch (error) {
  console.error(`demo failed: ${error.message}`);
  process.exitCode = 1;
} finally {
  await sm.close();
}

function seconds(msReal) {
  return `${((msReal * speed) / 1000).toFixed(1)}s`;
}

function sleep(msReal) {
  return new Promise((resolve) => setTimeout(resolve, msReal));
}
