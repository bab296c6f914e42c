// `sessionmanager/remote`: the remote store and the offline-first replica as factories, for
// pages that compose stores themselves. `backend: "remote"` and the `remote` option load the
// same code lazily.
export type { RemoteOptions } from "./remote.ts";
export { remoteStore } from "./remote.ts";
export type { ReplicaOptions } from "./replica.ts";
export { replicaStore } from "./replica.ts";
