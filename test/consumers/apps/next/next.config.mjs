import { fileURLToPath } from "node:url";

// The workspace root holds the one node_modules all scratch apps share: Turbopack must resolve
// from there, and standalone tracing must copy what it finds there.
const root = fileURLToPath(new URL("../..", import.meta.url));

export default {
  output: process.env.SM_NEXT_OUTPUT === "standalone" ? "standalone" : undefined,
  outputFileTracingRoot: root,
  turbopack: { root },
  // Types are the tsc test's job; this app checks what runs.
  typescript: { ignoreBuildErrors: true },
};
