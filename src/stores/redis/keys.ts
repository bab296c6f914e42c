// The Redis store's key names: one hash tag per namespace (the root's records) and one per owner
// of a namespace (a partition's records), with the parts escaped so that no namespace or owner
// can name another's keys, whatever characters they hold.

/** The keys of one set of records: the root's, or one owner's. */
export interface Space {
  /** The key of the record `id`: `recordPrefix + id`. */
  readonly recordPrefix: string;
  /** The sorted set of the ids (score: expiresAt). */
  readonly index: string;
}

/** The keys of one owner: its records, and its change log (a stream, and what it remembers). */
export interface OwnerSpace extends Space {
  /** The stream of the owner's changes (`<tag>:l`). */
  readonly log: string;
  /** Hash (`<tag>:f`): `l` the id of the newest entry written, `f` of the newest dropped. */
  readonly meta: string;
}

/** The keys of a namespace: its root, its owners, and the registry of its owners. */
export interface Keys {
  readonly root: Space;
  owner(owner: string): OwnerSpace;
  /** The pub/sub channel of the namespace's change logs (`<prefix>:{<namespace>}:c`). */
  readonly channel: string;
  /** Sorted set: owner → the earliest expiresAt its index may hold (when it is due for a sweep). */
  readonly owners: string;
  /** Hash: owner → when it last registered a write (Redis's clock, ms). */
  readonly writes: string;
}

const hex = (char: string) => `%${(char.codePointAt(0) as number).toString(16).toUpperCase()}`;

/**
 * `text` with `%`, `{`, `}` (and `:` with `colon`) percent-encoded: then `:` separates parts
 * and `{…}` is the hash tag, never what a part holds.
 */
export function escapeKeyPart(text: string, colon = true): string {
  return text.replace(colon ? /[%:{}]/g : /[%{}]/g, hex);
}

/**
 * The keys of `namespace` under `prefix`:
 * - root records `<prefix>:{<namespace>}:s:<id>`, their index `<prefix>:{<namespace>}:i`;
 * - an owner's records `<prefix>:{<namespace>:<owner>}:s:<id>`, index `…:{<namespace>:<owner>}:i`;
 * - the registry of owners `<prefix>:{<namespace>}:o` and `<prefix>:{<namespace>}:w`;
 * - an owner's change log `…:{<namespace>:<owner>}:l` and `…:f`, the channel `…:{<namespace>}:c`.
 *
 * In the prefix `%`, `{` and `}` are percent-encoded; in the namespace and the owner `:` too. So
 * the first `{` of a key ends the prefix, the first `}` after it ends the hash tag (Redis Cluster
 * hashes what is between: one slot per namespace root, one per owner), the tag is split at its
 * one `:`, and what follows the tag (`:s:` + the id, `:i`, `:o`, `:w`, `:l`, `:f`, `:c`) is ours: ids may hold any
 * character, `:` and braces included, and are never parsed out of a key.
 */
export function keysOf(prefix: string, namespace: string): Keys {
  const head = `${escapeKeyPart(prefix, false)}:{${escapeKeyPart(namespace)}`;
  const space = (tag: string): Space => ({ recordPrefix: `${tag}:s:`, index: `${tag}:i` });
  return {
    root: space(`${head}}`),
    owner: (owner) => {
      const tag = `${head}:${escapeKeyPart(owner)}}`;
      return { ...space(tag), log: `${tag}:l`, meta: `${tag}:f` };
    },
    channel: `${head}}:c`,
    owners: `${head}}:o`,
    writes: `${head}}:w`,
  };
}
