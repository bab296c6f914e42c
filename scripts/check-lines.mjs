// Fails when a source file grows past the length a reader can hold in mind (400 lines): split it
// by concern instead (see CONTRIBUTING.md, "Where things live"). `npm run check:lines`, part of
// `npm test`.
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const MAX_LINES = 400;
const root = fileURLToPath(new URL("..", import.meta.url));

/** Every `.ts` file below `dir`. */
function* sources(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* sources(path);
    else if (entry.name.endsWith(".ts")) yield path;
  }
}

const long = [];
for (const file of sources(join(root, "src"))) {
  const lines = readFileSync(file, "utf8").split("\n").length - 1;
  if (lines > MAX_LINES) long.push(`${relative(root, file)}: ${lines} lines`);
}
if (long.length > 0) {
  console.error(
    `Source files over ${MAX_LINES} lines (split them by concern):\n  ${long.join("\n  ")}`,
  );
  process.exit(1);
}
console.log(`check:lines: every file in src/ has at most ${MAX_LINES} lines`);
