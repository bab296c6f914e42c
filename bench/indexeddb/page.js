// Runs in the Chromium page (bundled by run.mjs with esbuild): each scenario writes `n` sessions
// into a fresh database and resolves to the milliseconds it took, opening excluded.
import { createStore, set as keyvalSet, setMany } from "idb-keyval";
import { SessionManager } from "../../src/index.ts";
import { indexedDBStore } from "../../src/stores/indexeddb/index.ts";
import { toStoredObject } from "../../src/stores/record.ts";
import { localStorageStore } from "../../src/stores/webstorage.ts";

const TTL = 30 * 60_000;
let sequence = 0;

function records(n) {
  const now = Date.now();
  return Array.from({ length: n }, (_, i) =>
    toStoredObject({
      id: `user${i}`,
      data: { user: `u${i}`, role: "member" },
      createdAt: now,
      updatedAt: now,
      expiresAt: now + TTL,
      ttl: TTL,
      version: 1,
    }),
  );
}

function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function complete(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = resolve;
    tx.onabort = () => reject(tx.error);
  });
}

/** The store's own schema, made with plain IndexedDB. */
async function openRaw(name) {
  const req = indexedDB.open(name, 1);
  req.onupgradeneeded = () =>
    req.result
      .createObjectStore("sessions", { keyPath: "id" })
      .createIndex("expiresAt", "expiresAt");
  return request(req);
}

/** Runs `body(db)` on a fresh raw database, deleted afterwards; resolves to its time in ms. */
async function onRawDb(label, body) {
  const name = `bench-${label}-${++sequence}`;
  const db = await openRaw(name);
  const ms = await body(db);
  db.close();
  await request(indexedDB.deleteDatabase(name));
  return ms;
}

/** Runs `body(store)` on a fresh opened store, deleted afterwards; resolves to its time in ms. */
async function onStore(label, body) {
  const namespace = `bench-${label}-${++sequence}`;
  const s = indexedDBStore({ namespace });
  await s.open({ report: (e) => console.error(e) });
  const ms = await body(s);
  await s.close();
  await request(indexedDB.deleteDatabase(`sessionmanager:${namespace}`));
  return ms;
}

/** Times n concurrent `sm.add` on a ready manager, then closes it. */
async function timedAdds(sm, n) {
  await sm.ready;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: n }, (_, i) =>
      sm.add(`user${i}`, { data: { user: `u${i}`, role: "member" } }),
    ),
  );
  const ms = performance.now() - start;
  await sm.close();
  return ms;
}

/** The baseline: n puts in ONE readwrite transaction, with the same schema as the store. */
function raw(n, durability) {
  return onRawDb("raw", async (db) => {
    const values = records(n);
    const start = performance.now();
    const tx = db.transaction("sessions", "readwrite", durability ? { durability } : undefined);
    const store = tx.objectStore("sessions");
    for (const value of values) store.put(value);
    await complete(tx);
    return performance.now() - start;
  });
}

/** What the manager needs, by hand: one readonly transaction of gets, one of adds. */
function rawChecked(n) {
  return onRawDb("rawchecked", async (db) => {
    const values = records(n);
    const start = performance.now();
    const read = db.transaction("sessions", "readonly").objectStore("sessions");
    await Promise.all(values.map((v) => request(read.get(v.id))));
    const tx = db.transaction("sessions", "readwrite");
    const store = tx.objectStore("sessions");
    for (const value of values) store.add(value);
    await complete(tx);
    return performance.now() - start;
  });
}

/** The store alone: n concurrent `set(record, { ifAbsent: true })`. */
function store(n) {
  return onStore("store", async (s) => {
    const values = records(n).map(({ v, ...record }) => record);
    const start = performance.now();
    await Promise.all(values.map((r) => s.set(r, { ifAbsent: true })));
    return performance.now() - start;
  });
}

/** The store doing the manager's calls: n concurrent gets, then n concurrent set(ifAbsent). */
function storeGetSet(n) {
  return onStore("storegs", async (s) => {
    const values = records(n).map(({ v, ...record }) => record);
    const start = performance.now();
    await Promise.all(values.map((r) => s.get(r.id)));
    await Promise.all(values.map((r) => s.set(r, { ifAbsent: true })));
    return performance.now() - start;
  });
}

/** Times n `sm.add` awaited one after another (each its own transaction), then closes. */
async function timedSequentialAdds(sm, n) {
  await sm.ready;
  const start = performance.now();
  for (let i = 0; i < n; i++) await sm.add(`user${i}`, { data: { user: `u${i}`, role: "member" } });
  const ms = performance.now() - start;
  await sm.close();
  return ms;
}

/** idb-keyval (reference): `setMany` of the same records, one transaction, no index. */
async function keyval(n, many) {
  const name = `bench-keyval-${++sequence}`;
  const kv = createStore(name, "sessions");
  const entries = records(n).map((r) => [r.id, r]);
  const start = performance.now();
  if (many) await setMany(entries, kv);
  else for (const [key, value] of entries) await keyvalSet(key, value, kv);
  const ms = performance.now() - start;
  // idb-keyval keeps its connection open, which would block the delete.
  await kv("readonly", (objectStore) => objectStore.transaction.db.close());
  await request(indexedDB.deleteDatabase(name));
  return ms;
}

/** The localStorage baseline: n `setItem` of the same records as JSON, by hand. */
function localStorageRaw(n) {
  const values = records(n);
  const prefix = `bench-ls-${++sequence}:`;
  const start = performance.now();
  for (const value of values) localStorage.setItem(prefix + value.id, JSON.stringify(value));
  const ms = performance.now() - start;
  for (const value of values) localStorage.removeItem(prefix + value.id);
  return ms;
}

/** Through the manager on localStorage: n `sm.add`, concurrent or one after another. */
async function localStorageManager(n, sequential) {
  const namespace = `bench-lsm-${++sequence}`;
  const sm = new SessionManager({ backend: localStorageStore({ namespace }), defaultTtl: TTL });
  const ms = await (sequential ? timedSequentialAdds : timedAdds)(sm, n);
  for (let i = 0; i < n; i++) localStorage.removeItem(`sessionmanager:${namespace}:user${i}`);
  return ms;
}

/** Runs `body(sm)` on a manager over a fresh IndexedDB store, deleted afterwards; its time. */
async function onManager(label, body) {
  const namespace = `bench-${label}-${++sequence}`;
  const sm = new SessionManager({ backend: indexedDBStore({ namespace }), defaultTtl: TTL });
  const ms = await body(sm);
  await request(indexedDB.deleteDatabase(`sessionmanager:${namespace}`));
  return ms;
}

/** Through the manager: n `sm.add` awaited one by one, so none share a transaction. */
function managerSequential(n) {
  return onManager("seq", (sm) => timedSequentialAdds(sm, n));
}

/** Through the manager: n sessions added (not timed), then `sm.touch` awaited one by one. */
function managerTouchSequential(n) {
  return onManager("touch", async (sm) => {
    await sm.ready;
    await Promise.all(Array.from({ length: n }, (_, i) => sm.add(`user${i}`, { data: i })));
    const start = performance.now();
    for (let i = 0; i < n; i++) await sm.touch(`user${i}`);
    const ms = performance.now() - start;
    await sm.close();
    return ms;
  });
}

/** Through the manager: n concurrent `sm.add`. */
function manager(n) {
  return onManager("manager", (sm) => timedAdds(sm, n));
}

/** The manager alone: n concurrent `sm.add` on the memory store (no IndexedDB at all). */
function managerMemory(n) {
  return timedAdds(new SessionManager({ backend: "memory", defaultTtl: TTL }), n);
}

/** Through the manager, the store not marked shared: no messages to other tabs. */
async function managerUnshared(n) {
  const namespace = `bench-unshared-${++sequence}`;
  const s = indexedDBStore({ namespace });
  const backend = {
    name: s.name,
    capabilities: { fallback: true },
    open: (c) => s.open(c),
    get: (id) => s.get(id),
    set: (r, c) => s.set(r, c),
    delete: (id, c) => s.delete(id, c),
    list: () => s.list(),
    clear: () => s.clear(),
    purgeExpired: (now) => s.purgeExpired(now),
    close: () => s.close(),
  };
  const ms = await timedAdds(new SessionManager({ backend, defaultTtl: TTL }), n);
  await request(indexedDB.deleteDatabase(`sessionmanager:${namespace}`));
  return ms;
}

/** The durability Chromium gives a transaction that asks for none. */
async function defaultDurability() {
  const db = await openRaw(`bench-durability-${++sequence}`);
  const tx = db.transaction("sessions", "readwrite");
  const durability = tx.durability;
  await complete(tx);
  db.close();
  return durability;
}

window.bench = {
  raw: (n) => raw(n),
  rawRelaxed: (n) => raw(n, "relaxed"),
  rawStrict: (n) => raw(n, "strict"),
  rawChecked,
  store,
  storeGetSet,
  manager,
  managerMemory,
  managerUnshared,
  managerSequential,
  managerTouchSequential,
  keyvalSetMany: (n) => keyval(n, true),
  keyvalSet: (n) => keyval(n, false),
  localStorageRaw,
  localStorageManager: (n) => localStorageManager(n, false),
  localStorageSequential: (n) => localStorageManager(n, true),
  defaultDurability,
};
