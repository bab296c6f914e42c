// The `node` condition of the root entry. The same export list as every other runtime: the Node
// stores are chosen by package condition inside (`#backends`), not registered here, so a bundler
// that drops this file (`"sideEffects": false`) loses nothing.
export * from "./index.ts";
