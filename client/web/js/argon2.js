// Installs Argon2id for pyodide_crypto's WebCrypto backend, which has none:
// WebCrypto offers no memory-hard KDF, so hash-wasm's WebAssembly build
// (pinned in package-lock.json) does this one derivation.
export function installArgon2(globalObj, argon2id) {
  globalObj.sealpostArgon2id = async (password, salt, memoryKib, iterations,
    parallelism, length) => argon2id({
    password,
    salt,
    memorySize: memoryKib,
    iterations,
    parallelism,
    hashLength: length,
    outputType: 'binary',
  });
}
