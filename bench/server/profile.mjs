// Where a server process spent its CPU time, from the .cpuprofile that `node --cpu-prof` writes
// on exit: self time by package or area and by function, and inclusive time of the steps of one
// request (token check, routing, store, response).
import { readFileSync } from "node:fs";

const ROOT = new URL("../../", import.meta.url).href;
// Inclusive time (self and callees, up to the first await) of the steps of one request, each
// counted once per sample: [label, function name, area it must come from].
const WATCH = [
  ["jose jwtVerify (token check)", "jwtVerify", "jose"],
  ["jose rawKey (imports the secret)", "rawKey", "jose"],
  ["WebCrypto importKey", "importKey", "node:internal/crypto"],
  ["hono dispatch (routing + handlers)", "dispatch", "hono"],
  ["hono router match", "match", "hono"],
  ["store get", "get", "sessionmanager"],
  ["store set (touch)", "set", "sessionmanager"],
  ["server fetch", "fetch", "sessionmanager"],
  ["node-server: Response to socket", "responseViaResponseObject", "@hono/node-server"],
  ["node-server: new Request", "newRequest", "@hono/node-server"],
  ["undici Request (request.headers)", "_Request", "node:internal/deps"],
];

/** `{ total, areas: [[name, ms]], functions: [[name, ms]], watched: [[name, ms]] }`. */
export function summarizeProfile(file) {
  const profile = JSON.parse(readFileSync(file, "utf8"));
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map();
  for (const node of profile.nodes)
    for (const child of node.children ?? []) parent.set(child, node.id);
  const self = new Map();
  const areas = new Map();
  const watched = new Map();
  let total = 0;
  profile.samples.forEach((id, index) => {
    const ms = (profile.timeDeltas[index] ?? 0) / 1000;
    const node = byId.get(id);
    if (!node || node.callFrame.functionName === "(idle)") return;
    total += ms;
    const leaf = frameName(node.callFrame);
    self.set(leaf, (self.get(leaf) ?? 0) + ms);
    const area = areaOf(node.callFrame);
    areas.set(area, (areas.get(area) ?? 0) + ms);
    const seen = new Set();
    for (let at = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at).callFrame;
      const watch = WATCH.find(
        ([, name, where]) => frame.functionName === name && areaOf(frame) === where,
      );
      if (watch && !seen.has(watch[0])) {
        seen.add(watch[0]);
        watched.set(watch[0], (watched.get(watch[0]) ?? 0) + ms);
      }
    }
  });
  const top = (map, n) => [...map].sort((a, b) => b[1] - a[1]).slice(0, n);
  return { total, areas: top(areas, 12), functions: top(self, 15), watched: top(watched, 20) };
}

function frameName({ functionName, url, lineNumber }) {
  const file = url.replace(/^.*\/node_modules\//, "").replace(ROOT, "");
  return `${functionName || "(anonymous)"} ${file ? `${file}:${lineNumber + 1}` : ""}`.trim();
}

function areaOf({ functionName, url }) {
  if (!url) return functionName.startsWith("(") ? functionName : "(native)";
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1];
  if (pkg) return pkg;
  // The command's own code: dist/, or the build given with --cli.
  if (url.startsWith("file:")) return "sessionmanager";
  if (url.startsWith("node:")) return `node:${url.slice(5).split("/").slice(0, 2).join("/")}`;
  return url;
}
