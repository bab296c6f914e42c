// The five implementations, each with its own plain loops: sync APIs are called directly,
// async ones are awaited one call at a time, as a user would. Every loop returns a count that
// the caller checks (hits, removals), which also keeps the work from being optimised away.
import { LRUCache } from "lru-cache";
import { createStorage } from "unstorage";
import { fromDist } from "../lib/dist.mjs";
import { AsyncTtlStore } from "./async-ttl-store.mjs";

const { SessionManager } = await fromDist("index.js");

export const TTL_MS = 30 * 60 * 1000; // "30m", the sessionmanager defaultTtl
export const SM_OPTIONS = { backend: "memory", defaultTtl: "30m", warnBefore: "1m" };

const map = {
  name: "Map",
  create: async () => new Map(),
  close: async (m) => m.clear(),
  size: async (m) => m.size,
  async fill(m, keys) {
    for (let i = 0; i < keys.length; i++) m.set(keys[i], null);
  },
  async add(m, keys) {
    for (let i = 0; i < keys.length; i++) m.set(keys[i], { n: i });
    return keys.length;
  },
  async get(m, keys) {
    let hits = 0;
    for (let i = 0; i < keys.length; i++) if (m.get(keys[i]) !== undefined) hits++;
    return hits;
  },
  async touch(m, keys) {
    for (let i = 0; i < keys.length; i++) m.set(keys[i], m.get(keys[i]));
    return keys.length;
  },
  async remove(m, keys) {
    let removed = 0;
    for (let i = 0; i < keys.length; i++) if (m.delete(keys[i])) removed++;
    return removed;
  },
};

const asyncTtl = {
  name: "async TTL baseline",
  create: async () => new AsyncTtlStore(),
  close: async () => {},
  size: async (s) => s.size,
  async fill(s, keys) {
    for (let i = 0; i < keys.length; i++) await s.set(keys[i], null, TTL_MS);
  },
  async add(s, keys) {
    for (let i = 0; i < keys.length; i++) await s.set(keys[i], { n: i }, TTL_MS);
    return keys.length;
  },
  async get(s, keys) {
    let hits = 0;
    for (let i = 0; i < keys.length; i++) if ((await s.get(keys[i])) !== undefined) hits++;
    return hits;
  },
  async touch(s, keys) {
    let touched = 0;
    for (let i = 0; i < keys.length; i++) if (await s.touch(keys[i], TTL_MS)) touched++;
    return touched;
  },
  async remove(s, keys) {
    let removed = 0;
    for (let i = 0; i < keys.length; i++) if (await s.delete(keys[i])) removed++;
    return removed;
  },
};

const lru = {
  name: "lru-cache (ttl)",
  create: async (n) => new LRUCache({ max: n, ttl: TTL_MS, updateAgeOnGet: false }),
  close: async (c) => c.clear(),
  size: async (c) => c.size,
  async fill(c, keys) {
    for (let i = 0; i < keys.length; i++) c.set(keys[i], null);
  },
  async add(c, keys) {
    for (let i = 0; i < keys.length; i++) c.set(keys[i], { n: i });
    return keys.length;
  },
  async get(c, keys) {
    let hits = 0;
    for (let i = 0; i < keys.length; i++) if (c.get(keys[i]) !== undefined) hits++;
    return hits;
  },
  async touch(c, keys) {
    for (let i = 0; i < keys.length; i++) c.set(keys[i], c.get(keys[i]));
    return keys.length;
  },
  async remove(c, keys) {
    let removed = 0;
    for (let i = 0; i < keys.length; i++) if (c.delete(keys[i])) removed++;
    return removed;
  },
};

const unstorage = {
  name: "unstorage (memory)",
  create: async () => createStorage(),
  close: async (s) => s.dispose(),
  size: async (s) => (await s.getKeys()).length,
  async fill(s, keys) {
    for (let i = 0; i < keys.length; i++) await s.setItem(keys[i], null);
  },
  async add(s, keys) {
    for (let i = 0; i < keys.length; i++) await s.setItem(keys[i], { n: i });
    return keys.length;
  },
  async get(s, keys) {
    let hits = 0;
    for (let i = 0; i < keys.length; i++) if ((await s.getItem(keys[i])) != null) hits++;
    return hits;
  },
  async touch(s, keys) {
    for (let i = 0; i < keys.length; i++) await s.setItem(keys[i], { n: i });
    return keys.length;
  },
  async remove(s, keys) {
    for (let i = 0; i < keys.length; i++) await s.removeItem(keys[i]);
    return keys.length - (await unstorage.size(s)); // removeItem returns nothing: count what left
  },
};

const sessionmanager = {
  name: "sessionmanager (memory)",
  async create() {
    const sm = new SessionManager(SM_OPTIONS);
    await sm.ready;
    return sm;
  },
  close: async (sm) => sm.close(),
  size: async (sm) => (await sm.list()).length, // no size getter: count what list() returns
  async fill(sm, keys) {
    for (let i = 0; i < keys.length; i++) await sm.add(keys[i], { data: null });
  },
  async add(sm, keys) {
    for (let i = 0; i < keys.length; i++) await sm.add(keys[i], { data: { n: i } });
    return keys.length;
  },
  async get(sm, keys) {
    let hits = 0;
    for (let i = 0; i < keys.length; i++) if ((await sm.get(keys[i])) !== undefined) hits++;
    return hits;
  },
  async touch(sm, keys) {
    let touched = 0;
    for (let i = 0; i < keys.length; i++) if ((await sm.touch(keys[i])) !== undefined) touched++;
    return touched;
  },
  async remove(sm, keys) {
    let removed = 0;
    for (let i = 0; i < keys.length; i++) if (await sm.remove(keys[i])) removed++;
    return removed;
  },
};

export const IMPLS = [map, asyncTtl, lru, unstorage, sessionmanager];
export const OPS = ["add", "get", "touch", "remove"];
