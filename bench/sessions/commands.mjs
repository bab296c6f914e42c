// Redis commands per session read, from MONITOR: the commands of the app's own connections while
// it answers a fixed number of reads one after another. The Redis is shared (other processes use
// it meanwhile), so a command counts when its connection is one of the app's: a connection is the
// app's once it sends a command naming a key of this run. Commands a Lua script runs are counted
// apart (MONITOR shows them as from "lua"), when they name a key of this run.
import { Redis } from "ioredis";

/**
 * Runs `reads()` (which makes `count` reads) under MONITOR. Resolves to `{ perRead, scriptPerRead,
 * byCommand, inScripts }`, the last two mapping a command's name to its count per read.
 */
export async function commandsPerRead(redisUrl, run, count, reads) {
  const client = new Redis(redisUrl, { lazyConnect: true });
  await client.connect();
  const monitor = await client.monitor();
  const seen = [];
  monitor.on("monitor", (_time, args, source) => seen.push({ args, source }));
  try {
    // MONITOR starts streaming once Redis has answered; a PING through another connection that
    // comes back through the monitor marks that point.
    await marker(redisUrl, seen, `${run}-start`);
    await reads();
    await marker(redisUrl, seen, `${run}-end`);
  } finally {
    monitor.disconnect();
    client.disconnect();
  }
  const start = seen.findIndex((c) => c.args.includes(`${run}-start`));
  const end = seen.findIndex((c) => c.args.includes(`${run}-end`));
  const window = seen.slice(start + 1, end);
  const ours = (c) => c.args.some((arg) => String(arg).includes(run));
  const sources = new Set(window.filter((c) => c.source !== "lua" && ours(c)).map((c) => c.source));
  const sent = window.filter((c) => sources.has(c.source));
  const scripted = window.filter((c) => c.source === "lua" && ours(c));
  const perName = (list) => {
    const counts = {};
    for (const { args } of list) {
      const name = String(args[0]).toUpperCase();
      counts[name] = (counts[name] ?? 0) + 1 / count;
    }
    return counts;
  };
  return {
    perRead: sent.length / count,
    scriptPerRead: scripted.length / count,
    byCommand: perName(sent),
    inScripts: perName(scripted),
  };
}

/** Sends ECHO `word` through a fresh connection and waits until the monitor has seen it. */
async function marker(redisUrl, seen, word) {
  const client = new Redis(redisUrl);
  try {
    await client.echo(word);
    const until = Date.now() + 5000;
    while (!seen.some((c) => c.args.includes(word))) {
      if (Date.now() > until) throw new Error(`MONITOR did not show ${word} within 5 s`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  } finally {
    client.disconnect();
  }
}

/** Deletes every key whose name contains `run` (SCAN, then UNLINK). Resolves to how many. */
export async function deleteRunKeys(redisUrl, run) {
  const client = new Redis(redisUrl);
  let deleted = 0;
  try {
    for await (const keys of client.scanStream({ match: `*${run}*`, count: 1000 })) {
      if (keys.length > 0) deleted += await client.unlink(...keys);
    }
  } finally {
    client.disconnect();
  }
  return deleted;
}
