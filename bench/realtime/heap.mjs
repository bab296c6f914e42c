// --heap-diff: what an open stream keeps on a server's heap, by kind of object. Two heap
// snapshots of the fullest server process (before opening the streams, and with them open). The
// objects of the second that the first did not hold (node ids are stable within a process) are
// summed by kind: objects by constructor, closures by function name and where it is defined
// (file:line, so that an anonymous closure of a dependency says which one), other nodes by type,
// each with what holds most of them (the first retainer's constructor and edge). Divided by the
// number of streams, the top rows say where the bytes per stream go; the web-streams and HTTP
// objects (NAMED) follow wherever they rank.
import { readFileSync } from "node:fs";

/** Constructors listed even outside the top rows. */
const NAMED =
  /^(Readable|Writable|Transform)Stream|Controller$|^(Request|Response|Headers|Context|SSEStreamingApi|StreamingApi|EventStream)$|^Fanout/;

/** Paths shortened in labels, so that what is left names the package or the build's chunk. */
const SHORTEN = [
  [/^file:\/\/.*\/node_modules\//, ""],
  [/^file:\/\/.*\/dist\//, "dist/"],
];

/** The snapshot in `file`, with the fields the diff reads located once. */
function load(file) {
  const snapshot = JSON.parse(readFileSync(file, "utf8"));
  const meta = snapshot.snapshot.meta;
  const f = meta.node_fields;
  const e = meta.edge_fields;
  return {
    ...snapshot,
    nodeTypes: meta.node_types[0],
    edgeTypes: meta.edge_types[0],
    F: f.length,
    E: e.length,
    type: f.indexOf("type"),
    name: f.indexOf("name"),
    id: f.indexOf("id"),
    size: f.indexOf("self_size"),
    edgeCount: f.indexOf("edge_count"),
    edgeType: e.indexOf("type"),
    edgeName: e.indexOf("name_or_index"),
    edgeTo: e.indexOf("to_node"),
  };
}

/** The ids of every node of `s`. */
function ids(s) {
  const set = new Set();
  for (let i = 0; i < s.nodes.length; i += s.F) set.add(s.nodes[i + s.id]);
  return set;
}

/**
 * For every node (by ordinal): its first strong retainer (ordinal, or -1) and that edge's name,
 * and for closures where their function is defined (script, from `shared`, and line, from
 * `locations`).
 */
function links(s) {
  const count = s.nodes.length / s.F;
  const retainer = new Int32Array(count).fill(-1);
  const edgeOf = new Int32Array(count);
  // closure -shared-> SharedFunctionInfo -script_or_debug_info-> Script (named by its URL)
  const shared = new Int32Array(count).fill(-1);
  const scriptOf = new Map();
  const { nodes, edges, strings, nodeTypes, edgeTypes } = s;
  for (let n = 0, e = 0; n < count; n++) {
    const edgesHere = nodes[n * s.F + s.edgeCount];
    for (let k = 0; k < edgesHere; k++, e += s.E) {
      const kind = edgeTypes[edges[e + s.edgeType]];
      const to = edges[e + s.edgeTo] / s.F;
      if (kind !== "weak" && retainer[to] === -1) {
        retainer[to] = n;
        edgeOf[to] = e;
      }
      if (kind !== "internal") continue;
      const name = strings[edges[e + s.edgeName]];
      if (name === "script_or_debug_info") scriptOf.set(n, strings[nodes[to * s.F + s.name]]);
      else if (name === "shared" && nodeTypes[nodes[n * s.F + s.type]] === "closure") {
        shared[n] = to;
      }
    }
  }
  const line = new Map();
  const loc = s.locations ?? [];
  for (let i = 0; i < loc.length; i += 4) line.set(loc[i] / s.F, loc[i + 2] + 1);
  const where = (n) => {
    let file = scriptOf.get(shared[n]) ?? "";
    for (const [pattern, by] of SHORTEN) file = file.replace(pattern, by);
    return file ? `${file}:${line.get(n) ?? "?"}` : "";
  };
  return { retainer, edgeOf, where };
}

/** The label of node `n`: constructor, `closure name (where)`, or `(type)`. */
function labelOf(s, n, where) {
  const kind = s.nodeTypes[s.nodes[n * s.F + s.type]];
  const name = s.strings[s.nodes[n * s.F + s.name]];
  if (kind === "object") return name;
  if (kind === "closure") {
    const at = where?.(n);
    return `closure ${name || "(anonymous)"}${at ? ` (${at})` : ""}`;
  }
  return `(${kind})`;
}

/** `Constructor.edge` of what holds node `n` first. */
function heldBy(s, n, linked) {
  const by = linked.retainer[n];
  if (by < 0) return "";
  const e = linked.edgeOf[n];
  const kind = s.edgeTypes[s.edges[e + s.edgeType]];
  const raw = s.edges[e + s.edgeName];
  const edge = kind === "element" || kind === "hidden" ? `[${raw}]` : s.strings[raw];
  return `${labelOf(s, by).slice(0, 40)}.${String(edge).slice(0, 30)}`;
}

/**
 * The top `rows` kinds of object in `after` that `before` did not hold, per stream: `{ label,
 * objects, bytes, heldBy }`, and their total per stream.
 */
export function heapDiff(before, after, streams, rows = 25) {
  const old = ids(load(before));
  const s = load(after);
  const linked = links(s);
  const byLabel = new Map();
  let total = 0;
  for (let n = 0; n < s.nodes.length / s.F; n++) {
    if (old.has(s.nodes[n * s.F + s.id])) continue;
    const label = labelOf(s, n, linked.where);
    const bytes = s.nodes[n * s.F + s.size];
    const entry = byLabel.get(label) ?? { count: 0, bytes: 0, holders: new Map() };
    entry.count += 1;
    entry.bytes += bytes;
    const holder = heldBy(s, n, linked);
    entry.holders.set(holder, (entry.holders.get(holder) ?? 0) + bytes);
    byLabel.set(label, entry);
    total += bytes;
  }
  const diff = [...byLabel].map(([label, entry]) => ({
    label: label.slice(0, 90),
    objects: entry.count / streams,
    bytes: entry.bytes / streams,
    heldBy: [...entry.holders].sort((a, b) => b[1] - a[1])[0]?.[0] ?? "",
  }));
  diff.sort((x, y) => y.bytes - x.bytes);
  const top = diff.slice(0, rows);
  // The web-streams and HTTP objects behind each stream, wherever they rank.
  const named = diff.filter((d) => !top.includes(d) && NAMED.test(d.label) && d.objects >= 0.5);
  return { totalPerStream: total / streams, top: [...top, ...named] };
}
