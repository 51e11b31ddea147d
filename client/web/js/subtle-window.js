// Maps WebCrypto AES-GCM over a window of chunks for pyodide_crypto.
// Python decides every key, nonce and byte range; this only issues one
// subtle call per chunk and hands back one promise for the whole window,
// because each Python await on a JS promise costs more than a chunk.
const NONCE_SIZE = 12;
const TAG_SIZE = 16;

// Chunk i is data[i * inSize, (i + 1) * inSize), the last one possibly
// shorter; a window that does not split that way is a caller bug, refused
// here rather than turned into silently wrong chunks.
function run(subtle, op, key, nonces, data, inSize, minLast) {
  const count = nonces.length / NONCE_SIZE;
  const lastSize = data.length - inSize * (count - 1);
  const fits = Number.isInteger(count) && count >= 1;
  if (!fits || lastSize < minLast || lastSize > inSize) {
    throw new RangeError(`${data.length} bytes do not split into ${count} chunks`);
  }
  const calls = [];
  for (let i = 0; i < count; i += 1) {
    const iv = nonces.subarray(NONCE_SIZE * i, NONCE_SIZE * (i + 1));
    const end = Math.min(inSize * (i + 1), data.length);
    const chunk = data.subarray(inSize * i, end);
    calls.push(subtle[op]({ name: "AES-GCM", iv, tagLength: 128 }, key, chunk));
  }
  return Promise.allSettled(calls);
}

function copyOut(results, ok, outSize, total) {
  const out = new Uint8Array(total);
  for (let i = 0; i < ok; i += 1) {
    out.set(new Uint8Array(results[i].value), outSize * i);
  }
  return out;
}

export function installSubtleWindow(globalObj) {
  const subtle = globalObj.crypto.subtle;
  globalObj.sealpostSubtleWindow = {
    async seal(key, nonces, data, chunkSize) {
      const results = await run(subtle, "encrypt", key, nonces, data, chunkSize, 0);
      const failed = results.find((r) => r.status === "rejected");
      if (failed !== undefined) throw failed.reason;
      const total = data.length + results.length * TAG_SIZE;
      return copyOut(results, results.length, chunkSize + TAG_SIZE, total);
    },
    async open(key, nonces, data, chunkSize) {
      const sealedSize = chunkSize + TAG_SIZE;
      // Every sealed chunk, the final one included, holds at least its tag.
      const results = await run(
        subtle, "decrypt", key, nonces, data, sealedSize, TAG_SIZE,
      );
      let ok = 0;
      let total = 0;
      // Only the leading run of authenticated chunks is ever released.
      while (ok < results.length && results[ok].status === "fulfilled") {
        total += results[ok].value.byteLength;
        ok += 1;
      }
      return { plaintext: copyOut(results, ok, chunkSize, total), ok };
    },
  };
}
