// Module Web Worker for bench/browser_crypto.py (not shipped, not a test).
//
// It loads Pyodide and pyodide_crypto exactly as client/web/js/worker.js does
// (same lock file, same wheel, same window helper, same bridge functions),
// then times four ways of running AES-256-GCM over the same 16 KiB chunks:
// plain JS (the browser's ceiling), pyodide_crypto through the window helper
// (what Sealpost ships), the helper alone driven from JS, and a naive Python
// loop that awaits once per chunk.
// Every result is checked by decrypting back to the input, outside the
// timed sections, so a fast wrong answer cannot win.

const CHUNK_SIZE = 16 * 1024;
const TAG_SIZE = 16;
const NONCE_SIZE = 12;
// The shipped worker's window: 256 chunks = 4 MiB of plaintext.
const WINDOW_CHUNKS = 256;
// crypto.getRandomValues fills at most 64 KiB a call.
const RANDOM_LIMIT = 65536;

self.onmessage = async (event) => {
  try {
    self.postMessage({ ok: true, result: await run(event.data) });
  } catch (error) {
    const text =
      error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    self.postMessage({ ok: false, error: text });
  }
};

async function run({ pyodideURL, assetsURL, benchPython, size, rounds }) {
  const { installSubtleWindow } = await import(`${assetsURL}/js/subtle-window.js`);
  installSubtleWindow(globalThis);
  const { loadPyodide } = await import(`${pyodideURL}/pyodide.mjs`);
  const pyodide = await loadPyodide({
    indexURL: `${pyodideURL}/`,
    lockFileURL: `${assetsURL}/build/pyodide-lock.json`,
    packageBaseUrl: `${assetsURL}/build/`,
    stdout: () => {},
    stderr: () => {},
  });
  const problems = [];
  await pyodide.loadPackage("pyodide-crypto", {
    messageCallback: () => {},
    errorCallback: (message) => problems.push(message),
  });
  if (problems.length > 0) throw new Error(problems.join("; "));

  const bridge = await fetch(`${assetsURL}/py/bridge.py`);
  if (!bridge.ok) throw new Error(`bridge.py: HTTP ${bridge.status}`);
  pyodide.FS.writeFile("/home/pyodide/sealpost_bridge.py", await bridge.text());
  pyodide.FS.writeFile("/home/pyodide/sealpost_bench.py", benchPython);
  const shipped = pyodide.pyimport("sealpost_bridge");
  const bench = pyodide.pyimport("sealpost_bench");

  const plaintext = randomBytes(size);
  const rawKey = randomBytes(32);
  const baseNonce = randomBytes(NONCE_SIZE);
  const key = await crypto.subtle.importKey("raw", rawKey, "AES-GCM", false, [
    "encrypt",
    "decrypt",
  ]);

  const ways = {
    js: {
      encrypt: () => jsEncrypt(key, baseNonce, plaintext),
      decrypt: (sealed) => jsDecrypt(key, baseNonce, sealed),
    },
    helper: {
      encrypt: () => helperMap("seal", key, baseNonce, plaintext),
      decrypt: (sealed) => helperMap("open", key, baseNonce, sealed),
    },
    window: {
      encrypt: () => windowEncrypt(shipped, bench, rawKey, plaintext),
      decrypt: (sealed) => windowDecrypt(shipped, bench, rawKey, sealed),
    },
    naive: {
      encrypt: () => callPy(bench.naive_encrypt, key, baseNonce, plaintext),
      decrypt: (sealed) => callPy(bench.naive_decrypt, key, baseNonce, sealed),
    },
  };

  const seconds = {};
  for (const name of Object.keys(ways)) seconds[name] = { encrypt: [], decrypt: [] };
  // Interleave the ways round by round so that a slow phase of the machine
  // hurts all of them alike.
  for (let round = 0; round < rounds; round += 1) {
    for (const [name, way] of Object.entries(ways)) {
      let started = performance.now();
      const sealed = await way.encrypt();
      seconds[name].encrypt.push((performance.now() - started) / 1000);

      started = performance.now();
      const opened = await way.decrypt(sealed);
      seconds[name].decrypt.push((performance.now() - started) / 1000);

      if (!equal(opened, plaintext)) throw new Error(`${name}: round trip differs`);
    }
  }
  return { size, seconds, userAgent: navigator.userAgent };
}

function randomBytes(size) {
  const out = new Uint8Array(size);
  for (let at = 0; at < size; at += RANDOM_LIMIT) {
    crypto.getRandomValues(out.subarray(at, Math.min(at + RANDOM_LIMIT, size)));
  }
  return out;
}

function equal(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i += 1) if (a[i] !== b[i]) return false;
  return true;
}

async function callPy(fn, ...args) {
  const awaitable = fn(...args);
  try {
    return await awaitable;
  } finally {
    awaitable.destroy();
  }
}

// ------------------------------------------------------------- plain JS

// Chunk i's nonce: the base nonce with i XORed into its last four bytes
// (enough for this benchmark's sizes; the shipped format does the same with
// the last five).
function nonce(base, i) {
  const iv = base.slice();
  const view = new DataView(iv.buffer);
  view.setUint32(NONCE_SIZE - 4, view.getUint32(NONCE_SIZE - 4) ^ i);
  return iv;
}

function chunkCount(size, inSize) {
  return Math.max(1, Math.ceil(size / inSize));
}

// The same subtle calls as the window helper, issued from a JS loop that
// waits once per window: the fastest a page can drive WebCrypto.
async function jsMap(op, key, base, data, inSize, outSize, total) {
  const out = new Uint8Array(total);
  const count = chunkCount(data.length, inSize);
  for (let first = 0; first < count; first += WINDOW_CHUNKS) {
    const last = Math.min(first + WINDOW_CHUNKS, count);
    const calls = [];
    for (let i = first; i < last; i += 1) {
      const chunk = data.subarray(i * inSize, Math.min((i + 1) * inSize, data.length));
      const params = { name: "AES-GCM", iv: nonce(base, i), tagLength: 128 };
      calls.push(crypto.subtle[op](params, key, chunk));
    }
    const results = await Promise.all(calls);
    for (let i = first; i < last; i += 1) {
      out.set(new Uint8Array(results[i - first]), i * outSize);
    }
  }
  return out;
}

function jsEncrypt(key, base, plaintext) {
  const count = chunkCount(plaintext.length, CHUNK_SIZE);
  const total = plaintext.length + count * TAG_SIZE;
  const sealedSize = CHUNK_SIZE + TAG_SIZE;
  return jsMap("encrypt", key, base, plaintext, CHUNK_SIZE, sealedSize, total);
}

function jsDecrypt(key, base, sealed) {
  const sealedSize = CHUNK_SIZE + TAG_SIZE;
  const total = sealed.length - chunkCount(sealed.length, sealedSize) * TAG_SIZE;
  return jsMap("decrypt", key, base, sealed, sealedSize, CHUNK_SIZE, total);
}

// The window helper alone, driven from JS: what the helper costs, without
// Python. Python's share of the shipped path is the difference to this.
async function helperMap(op, key, base, data) {
  const helper = globalThis.sealpostSubtleWindow;
  const inSize = op === "seal" ? CHUNK_SIZE : CHUNK_SIZE + TAG_SIZE;
  const count = chunkCount(data.length, inSize);
  const parts = [];
  for (let first = 0; first < count; first += WINDOW_CHUNKS) {
    const last = Math.min(first + WINDOW_CHUNKS, count);
    const nonces = new Uint8Array((last - first) * NONCE_SIZE);
    for (let i = first; i < last; i += 1) {
      nonces.set(nonce(base, i), (i - first) * NONCE_SIZE);
    }
    const end = Math.min(last * inSize, data.length);
    const window = data.subarray(first * inSize, end);
    const result = await helper[op](key, nonces, window, CHUNK_SIZE);
    if (op === "seal") {
      parts.push(result);
    } else {
      if (result.ok !== last - first) throw new Error("helper: a chunk failed");
      parts.push(result.plaintext);
    }
  }
  return concat(parts);
}

// ------------------------------------------- pyodide_crypto (as shipped)

// The shipped worker's loop: one Python call per 4 MiB window.
async function windowEncrypt(shipped, bench, rawKey, plaintext) {
  const encryptor = await callPy(bench.make_encryptor, rawKey);
  try {
    const window = WINDOW_CHUNKS * CHUNK_SIZE;
    const parts = [bench.header_of(encryptor)];
    for (let at = 0; ; at += window) {
      const end = Math.min(at + window, plaintext.length);
      const final = end === plaintext.length;
      const chunk = plaintext.subarray(at, end);
      parts.push(await callPy(shipped.seal_window, encryptor, chunk, final));
      if (final) break;
    }
    return concat(parts);
  } finally {
    encryptor.destroy();
  }
}

async function windowDecrypt(shipped, bench, rawKey, sealed) {
  const header = sealed.subarray(0, 56);
  const decryptor = await callPy(bench.make_decryptor, rawKey, header);
  try {
    const window = WINDOW_CHUNKS * (CHUNK_SIZE + TAG_SIZE);
    const parts = [];
    for (let at = 56; ; at += window) {
      const end = Math.min(at + window, sealed.length);
      const final = end === sealed.length;
      const chunk = sealed.subarray(at, end);
      parts.push(await callPy(shipped.open_window, decryptor, chunk, final));
      if (final) break;
    }
    return concat(parts);
  } finally {
    decryptor.destroy();
  }
}

function concat(parts) {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
