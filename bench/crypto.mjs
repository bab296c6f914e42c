// Encryption at rest: what src/crypto/jwe.ts costs over raw WebCrypto, and what it weighs.
//   node bench/crypto.mjs [iterations]
// Self-contained: esbuild bundles src/crypto/jwe.ts into a temporary directory (no `npm run build`
// needed). Per iteration, in one loop and in alternating order so that both see the same machine:
//   jwe    encryptData + decryptData (JSON.stringify, UTF-8, header, base64url, AES-GCM, parse)
//   raw    a fresh IV + AES-GCM encrypt + decrypt of the same, already encoded, JSON bytes
//   raw+   raw plus JSON.stringify/TextEncoder before and TextDecoder/JSON.parse after
//   floor  raw+ with the JWE header as AES-GCM additional data: what any dir/A256GCM JWE must do
//   jose   jose's CompactEncrypt + compactDecrypt (informational)
// Medians in µs. Target: jwe / raw <= 1.3. Then gzip -9 sizes of the module bundled alone.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";
import { CompactEncrypt, compactDecrypt } from "jose";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const ITERATIONS = Number(process.argv[2] ?? 2000);
const WARMUP = 300;

async function bundle(entry, options = {}) {
  const out = await build({
    ...entry,
    bundle: true,
    format: "esm",
    platform: "browser",
    write: false,
    logLevel: "silent",
    ...options,
  });
  return out.outputFiles[0].contents;
}

async function loadJwe() {
  const dir = mkdtempSync(join(tmpdir(), "sessionmanager-bench-crypto-"));
  try {
    const code = await bundle({ entryPoints: [join(root, "src/crypto/jwe.ts")] });
    const file = join(dir, "jwe.mjs");
    writeFileSync(file, code);
    return await import(pathToFileURL(file).href);
  } finally {
    // Once imported, the module no longer needs its file.
    rmSync(dir, { recursive: true, force: true });
  }
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1];
};

function payload(bytes) {
  const data = { user: "ada", roles: ["admin", "editor"], visits: 42, notes: [] };
  while (JSON.stringify(data).length < bytes) data.notes.push("lorem ipsum dolor sit amet 0123");
  return data;
}

async function measure({ encryptData, decryptData }, key, data) {
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
  for (let i = 0; i < WARMUP + ITERATIONS; i++) {
    // Rotate the order so that no case always runs first (or right after another).
    for (let j = 0; j < names.length; j++) {
      const name = names[(i + j) % names.length];
      const start = performance.now();
      await cases[name]();
      if (i >= WARMUP) times[name].push((performance.now() - start) * 1000);
    }
  }
  return Object.fromEntries(names.map((name) => [name, median(times[name])]));
}

const jwe = await loadJwe();
const key = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, [
  "encrypt",
  "decrypt",
]);
console.log(
  `encrypt+decrypt round-trip, median µs over ${ITERATIONS} iterations (Node ${process.version})`,
);
console.log(
  "data      json B   jwe      raw      raw+     floor    jose     jwe/raw  jwe/raw+ jwe/floor jwe/jose",
);
for (const size of [64, 4096]) {
  const data = payload(size);
  const m = await measure(jwe, key, data);
  const cell = (v) => v.toFixed(1).padEnd(9);
  const ratio = (a, b) => `${(a / b).toFixed(2)}×`.padEnd(9);
  console.log(
    `${size === 64 ? "small" : "4 KB"}`.padEnd(10) +
      String(JSON.stringify(data).length).padEnd(9) +
      cell(m.jwe) +
      cell(m.raw) +
      cell(m["raw+"]) +
      cell(m.floor) +
      cell(m.jose) +
      ratio(m.jwe, m.raw) +
      ratio(m.jwe, m["raw+"]) +
      ratio(m.jwe, m.floor).padEnd(10) +
      ratio(m.jwe, m.jose),
  );
}

const gzip = (code) => gzipSync(code, { level: 9 }).length;
const sizes = [
  ["src/crypto/jwe.ts", { entryPoints: [join(root, "src/crypto/jwe.ts")] }],
  ["src/crypto/keys.ts", { entryPoints: [join(root, "src/crypto/keys.ts")] }],
  [
    "jose compactDecrypt + CompactEncrypt",
    {
      stdin: {
        contents: 'export { compactDecrypt, CompactEncrypt } from "jose";',
        resolveDir: root,
        sourcefile: "jose-entry.js",
      },
    },
  ],
];
console.log("\nbundled alone, esbuild --bundle --minify --format=esm, gzip -9 bytes");
for (const [name, entry] of sizes) {
  const code = await bundle(entry, { minify: true });
  console.log(`${name.padEnd(40)}${String(gzip(code)).padStart(6)}`);
}
