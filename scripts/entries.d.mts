// Types of scripts/entries.mjs, for tsup.config.ts (type-checked with the tests).

/** One file the package builds: see scripts/entries.mjs. */
export interface Entry {
  readonly name: string;
  readonly src: string;
  readonly export?: string;
  readonly node?: string;
  readonly global?: string;
}
export type DistKind = "esm" | "cjs" | "types" | "types-cjs";

export const entries: readonly Entry[];
export const libraryEntries: Record<string, string>;
export const globalBundles: readonly { name: string; src: string; global: string }[];
export function entry(name: string): Entry;
export function dist(name: string, kind?: DistKind): string;
export function exportsMap(): Record<string, unknown>;
export function builtFiles(): Set<string>;
