// The encryption benchmark's loop, the same in Node and in the Chromium page: every case per
// iteration, in rotating order, so that all see the same machine. Takes the modules it measures
// as arguments, so that each side brings its own (Node imports them, the page has them bundled).

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1];
};

/** Session-like data whose JSON is about `bytes` long. */
export function payload(bytes) {
  const data = { user: "ada", roles: ["admin", "editor"], visits: 42, notes: [] };
  while (JSON.stringify(data).length < bytes) data.notes.push("lorem ipsum dolor sit amet 0123");
  return data;
}

/**
 * Median µs per round trip of each case, for `data`, after `warmup` unmeasured iterations. Each
 * sample times `batch` round trips: a page's clock ticks in 5 µs steps at best (100 µs unless
 * the page is cross-origin isolated), coarse against a round trip of some 30 µs.
 */
export async function measure({ jwe, jose, key, data, iterations, warmup, batch = 1 }) {
  const { encryptData, decryptData } = jwe;
  const { CompactEncrypt, compactDecrypt } = jose;
  const entry = { id: "k0", key };
  const keys = [entry];
  const bytes = new TextEncoder().encode(JSON.stringify(data));
  const header = { alg: "dir", enc: "A256GCM", kid: "k0", sid: "user123" };
  const cases = {
    jwe: async () => decryptData(await encryptData(data, "user123", entry), "user123", keys),
    raw: async () => {
      const iv = crypto.getRandomValues(new Uint8Array(12));
      const sealed = await crypto.subtle.encrypt({ name: "AES-GCM", iv }, key, bytes);
      return crypto.subtle.decrypt({ name: "AES-GCM", iv }, key, sealed);
    },
    "raw+": async () => {
      const iv = crypto.getRandomValues(new Uint8Array(12));
      const plain = new TextEncoder().encode(JSON.stringify(data));
      const sealed = await crypto.subtle.encrypt({ name: "AES-GCM", iv }, key, plain);
      const opened = await crypto.subtle.decrypt({ name: "AES-GCM", iv }, key, sealed);
      return JSON.parse(new TextDecoder().decode(opened));
    },
    floor: async () => {
      const iv = crypto.getRandomValues(new Uint8Array(12));
      const aad = new TextEncoder().encode(btoa(JSON.stringify(header)));
      const params = { name: "AES-GCM", iv, additionalData: aad };
      const plain = new TextEncoder().encode(JSON.stringify(data));
      const sealed = await crypto.subtle.encrypt(params, key, plain);
      const opened = await crypto.subtle.decrypt(params, key, sealed);
      return JSON.parse(new TextDecoder().decode(opened));
    },
    jose: async () => {
      const plain = new TextEncoder().encode(JSON.stringify(data));
      const jwe = await new CompactEncrypt(plain).setProtectedHeader(header).encrypt(key);
      const { plaintext } = await compactDecrypt(jwe, key);
      return JSON.parse(new TextDecoder().decode(plaintext));
    },
  };
  const names = Object.keys(cases);
  const times = Object.fromEntries(names.map((name) => [name, []]));
  for (let i = 0; i < warmup + iterations; i++) {
    // Rotate the order so that no case always runs first (or right after another).
    for (let j = 0; j < names.length; j++) {
      const name = names[(i + j) % names.length];
      const start = performance.now();
      for (let k = 0; k < batch; k++) await cases[name]();
      if (i >= warmup) times[name].push(((performance.now() - start) * 1000) / batch);
    }
  }
  return Object.fromEntries(names.map((name) => [name, median(times[name])]));
}

/** A key as the manager would have one: AES-GCM 256, not extractable. */
export function newKey() {
  return crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]);
}
