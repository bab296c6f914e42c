// `#backends` outside Node (the `default` condition of the package's `imports` map): no Node
// store can be named, so none of their code or drivers can reach a browser bundle. Naming one
// fails with a `BackendError` that says it works in Node only (src/stores/resolve.ts).
import type { NodeBackends } from "./backends.ts";

export const nodeBackends: NodeBackends = {};
