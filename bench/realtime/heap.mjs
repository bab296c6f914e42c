// --heap-diff: what an open stream keeps on a server's heap, by kind of object. Two heap
// snapshots of the fullest server process (before opening the streams, and with them open), their
// self sizes summed by constructor (closures by function name, other nodes by type), and the
// differences divided by the number of streams: the top rows say where the bytes per stream go,
// then the web-streams and HTTP objects (NAMED) wherever they rank.
import { readFileSync } from "node:fs";

/** Constructors listed even outside the top rows. */
const NAMED =
  /^(Readable|Writable|Transform)Stream|Controller$|^(Request|Response|Headers|Context|SSEStreamingApi|StreamingApi)$|^Fanout/;

/** Self size and count by constructor of the snapshot in `file`. */
function aggregate(file) {
  const snapshot = JSON.parse(readFileSync(file, "utf8"));
  const { node_fields: fields, node_types: nodeTypes } = snapshot.snapshot.meta;
  const [types] = nodeTypes;
  const type = fields.indexOf("type");
  const name = fields.indexOf("name");
  const size = fields.indexOf("self_size");
  const { nodes, strings } = snapshot;
  const byName = new Map();
  for (let i = 0; i < nodes.length; i += fields.length) {
    const kind = types[nodes[i + type]];
    const label =
      kind === "object"
        ? strings[nodes[i + name]]
        : kind === "closure"
          ? `closure ${strings[nodes[i + name]] || "(anonymous)"}`
          : `(${kind})`;
    const entry = byName.get(label) ?? { count: 0, bytes: 0 };
    entry.count += 1;
    entry.bytes += nodes[i + size];
    byName.set(label, entry);
  }
  return byName;
}

/** The top `rows` differences between snapshots `before` and `after`, per stream. */
export function heapDiff(before, after, streams, rows = 25) {
  const a = aggregate(before);
  const b = aggregate(after);
  const diff = [];
  for (const [label, entry] of b) {
    const old = a.get(label) ?? { count: 0, bytes: 0 };
    diff.push({
      label: label.slice(0, 70),
      objects: (entry.count - old.count) / streams,
      bytes: (entry.bytes - old.bytes) / streams,
    });
  }
  diff.sort((x, y) => y.bytes - x.bytes);
  const total = diff.reduce((t, d) => t + d.bytes, 0);
  const top = diff.slice(0, rows);
  // The web-streams and HTTP objects behind each stream, wherever they rank.
  const named = diff.filter((d) => !top.includes(d) && NAMED.test(d.label) && d.objects >= 0.5);
  return { totalPerStream: total, top: [...top, ...named] };
}
