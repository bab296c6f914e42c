// Plain-text tables: first column left-aligned, the others right-aligned.

/** Renders `rows` (arrays of cells) under `header`, with an optional title and notes. */
export function table(title, header, rows, notes = []) {
  const all = [header, ...rows].map((row) => row.map((cell) => String(cell)));
  const widths = header.map((_, c) => Math.max(...all.map((row) => row[c].length)));
  const line = (row) =>
    row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join("  ");
  const rule = widths.map((w) => "-".repeat(w)).join("  ");
  const out = [`\n== ${title} ==`, line(all[0]), rule, ...all.slice(1).map(line)];
  for (const note of notes) out.push(`  * ${note}`);
  return out.join("\n");
}
