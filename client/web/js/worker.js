// Module Web Worker: hosts Pyodide, runs pyodide_crypto and does the network
// calls of sending and receiving. Pages talk to it through worker-client.js
// ({id, op, args} in; {id, ok, result | error} or {id, event} out).

import { accountOp } from "./account-ops.js";
import { adminOp } from "./admin-ops.js";
import { recoveryOp } from "./recovery-ops.js";
import { requestOp } from "./request-ops.js";
import { SealpostError, toErrorPayload } from "./errors.js";

// C2SP chunked encryption framing (docs/format.md).
const CHUNK_SIZE = 16 * 1024;
const TAG_SIZE = 16;
const STREAM_HEADER_SIZE = 56;
// One Python call per window: 256 chunks = 4 MiB of plaintext. Bigger windows
// cost memory, smaller ones cost a Python/JS round trip each.
const WINDOW_CHUNKS = 256;
const PLAIN_WINDOW = WINDOW_CHUNKS * CHUNK_SIZE;
const CIPHER_WINDOW = WINDOW_CHUNKS * (CHUNK_SIZE + TAG_SIZE);
// A dropped connection during an upload is retried this many times, from
// the offset the server says it has, after a growing pause.
const UPLOAD_ATTEMPTS = 4;
const UPLOAD_RETRY_MS = 1_000;
// A CSP or MIME problem makes loadPyodide hang forever instead of failing.
const RUNTIME_TIMEOUT_MS = 60_000;
// A link secret: 32 bytes in base64url without padding. Checked here only to
// refuse a mangled link before any request; Python parses it for real.
const FRAGMENT = /^[A-Za-z0-9_-]{43}$/;
// Python functions of client/web/py/bridge.py used by this worker.
const BRIDGE_FUNCTIONS = [
  "check_paths",
  "generate_code",
  "check_code",
  "check_code_settings",
  "derive_code",
  "unlock_proof",
  "create_sender",
  "sender_info",
  "seal_manifest",
  "file_encryptor",
  "encryptor_header",
  "seal_window",
  "ciphertext_size",
  "open_share",
  "recipient_info",
  "file_decryptor",
  "open_window",
];

let runtimePromise = null;
// Where third-party modules are served (/assets/<hash>/vendor/), once known.
let vendorBase = null;
// State of the share opened on a receive page, for the page's lifetime.
let received = null;
// A code share waiting for its code: {base, fragment, info}.
let locked = null;

self.addEventListener("message", (event) => {
  const { id, op, args } = event.data;
  const emit = (payload) => self.postMessage({ id, event: payload });
  handle(op, args ?? {}, emit).then(
    ({ result, transfer }) => self.postMessage({ id, ok: true, result }, transfer),
    (error) => self.postMessage({ id, ok: false, error: toErrorPayload(error) }),
  );
});

async function handle(op, args, emit) {
  switch (op) {
    case "init":
      await runtime(args);
      return { result: null };
    case "config":
      return { result: await getConfig() };
    case "send":
      return { result: await send(args, emit) };
    case "check_paths":
      return { result: await checkPaths(args) };
    case "generate_code":
      return { result: (await runtime()).generate_code() };
    case "open":
      return { result: await openShare(args, emit) };
    case "unlock":
      return { result: await unlockShare(args, emit) };
    case "claim":
      await ticket();
      return { result: null };
    case "download":
      await download(args, emit);
      return { result: null };
    case "zip_size":
      return { result: await zipSize() };
    case "download_zip":
      await downloadZip(args, emit);
      return { result: null };
    default:
      // The account area's operations (account-ops.js), with the helpers
      // they share with link shares.
      // ("admin_*": the administrators' view, admin-ops.js; "recovery_*":
      // recovery codes, recovery-ops.js; "request_*": self-service account
      // requests, request-ops.js).
      return pickOps(op)(op, args, emit, {
        runtime,
        callAsync,
        pythonError,
        refusedInput,
        request,
        failure,
        json,
        postJSON,
        getConfig,
        checkLimits,
        checkPaths,
        sendFile,
        putBytes,
        Progress,
        accept,
        received: () => received,
        // At sign-out: the opened item's file keys go with the account's.
        forgetReceived: () => {
          received?.recipient.destroy();
          received = null;
        },
      });
  }
}

function pickOps(op) {
  if (op.startsWith("admin_")) return adminOp;
  if (op.startsWith("recovery_")) return recoveryOp;
  if (op.startsWith("request_")) return requestOp;
  return accountOp;
}

// ---------------------------------------------------------------- runtime

function runtime(urls) {
  if (runtimePromise === null) {
    if (!urls || !urls.pyodideURL) {
      throw new SealpostError("internal", { detail: "runtime used before init" });
    }
    runtimePromise = withTimeout(loadRuntime(urls), RUNTIME_TIMEOUT_MS);
  }
  return runtimePromise;
}

function withTimeout(promise, ms) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new SealpostError("runtime_timeout")), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function loadRuntime({ pyodideURL, assetsURL }) {
  const origin = self.location.origin;
  const pyodideBase = new URL(`${pyodideURL}/`, origin).href;
  const assetsBase = new URL(`${assetsURL}/`, origin).href;
  vendorBase = `${assetsBase}vendor/`;
  let pyodide;
  try {
    // pyodide_crypto's WebCrypto backend needs the window helper before import.
    const { installSubtleWindow } = await import("./subtle-window.js");
    installSubtleWindow(globalThis);
    // ... and Argon2id for second-channel codes (WebCrypto has none).
    const [{ installArgon2 }, { argon2id }] = await Promise.all([
      import("./argon2.js"),
      import(`${vendorBase}hash-wasm.mjs`),
    ]);
    installArgon2(globalThis, argon2id);
    const { loadPyodide } = await import(`${pyodideBase}pyodide.mjs`);
    pyodide = await loadPyodide({
      indexURL: pyodideBase,
      lockFileURL: `${assetsBase}build/pyodide-lock.json`,
      packageBaseUrl: `${assetsBase}build/`,
      stdout: () => {},
      stderr: () => {},
    });
  } catch (error) {
    throw new SealpostError("runtime_failed", { detail: describe(error) });
  }

  // loadPackage resolves even when a download or the integrity check failed;
  // the error callback is the only signal, so any message there is fatal.
  const problems = [];
  await pyodide.loadPackage("pyodide-crypto", {
    messageCallback: () => {},
    errorCallback: (message) => problems.push(message),
  });
  if (problems.length > 0) {
    throw new SealpostError("runtime_failed", { detail: problems.join("; ") });
  }

  // server/build.py ships client/web/py/bridge.py in the same hash-pinned
  // wheel, as the top-level module sealpost_bridge.
  // The module proxy and the functions borrowed from it live as long as the
  // worker: destroying the module would destroy the functions too.
  const module = pyodide.pyimport("sealpost_bridge");
  const py = {};
  for (const name of BRIDGE_FUNCTIONS) py[name] = module[name];
  // The account area's glue (client/web/py/accounts_bridge.py).
  py.accounts = pyodide.pyimport("sealpost_accounts_bridge");
  return py;
}

function describe(error) {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

// Call an async Python function and release the awaitable proxy it returns.
async function callAsync(fn, ...args) {
  const awaitable = fn(...args);
  try {
    return await awaitable;
  } finally {
    awaitable.destroy();
  }
}

// Map a Python exception to the error the person should see.
function pythonError(error, code) {
  const type = error && error.type;
  if (type === "DecryptionError" || type === "FormatError") {
    return new SealpostError(code);
  }
  return error;
}

// Input pyodide_crypto refuses (a name, a message): a clear error naming
// what was wrong, without the Python traceback.
function refusedInput(error, code) {
  if (!(error && error.type === "ParameterError")) return error;
  const last = String(error.message ?? "").trim().split("\n").pop() ?? "";
  const detail = last.replace(/^[\w.]*ParameterError: /, "");
  return new SealpostError(code, { detail });
}

// ---------------------------------------------------------------- network

async function request(path, init = {}) {
  let response;
  try {
    response = await fetch(path, { cache: "no-store", ...init });
  } catch (error) {
    throw new SealpostError("network", { detail: describe(error) });
  }
  return response;
}

async function failure(response) {
  let code = "";
  try {
    code = (await response.json()).error ?? "";
  } catch {
    // Not JSON (a proxy's error page, say): the status alone tells enough.
  }
  if (response.status === 404 && code === "unavailable") {
    return new SealpostError("unavailable");
  }
  if (response.status === 507) return new SealpostError("storage_full");
  if (response.status === 413) return new SealpostError("server_limit");
  return new SealpostError("server", { status: response.status, detail: code });
}

async function json(path, init) {
  const response = await request(path, init);
  if (!response.ok) throw await failure(response);
  return response.json();
}

function postJSON(path, body, headers = {}, init = {}) {
  return json(path, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...headers },
    body: JSON.stringify(body),
    ...init,
  });
}

async function getConfig() {
  return json("/api/config");
}

// ---------------------------------------------------------------- sending

// Check everything the server would refuse before a byte is uploaded (C07).
function checkLimits(config, files, expiresIn, maxDownloads) {
  if (files.length > config.max_files) {
    throw new SealpostError("too_many_files", { limit: config.max_files });
  }
  let total = 0;
  for (const file of files) {
    if (file.size > config.max_file_bytes) {
      throw new SealpostError("file_too_large", {
        name: file.name,
        size: file.size,
        limit: config.max_file_bytes,
      });
    }
    total += file.size;
  }
  if (total > config.max_share_bytes) {
    throw new SealpostError("share_too_large", {
      size: total,
      limit: config.max_share_bytes,
    });
  }
  if (
    !Number.isInteger(expiresIn) ||
    expiresIn < config.expiry_min_seconds ||
    expiresIn > config.expiry_max_seconds
  ) {
    throw new SealpostError("expiry_invalid");
  }
  if (
    !Number.isInteger(maxDownloads) ||
    maxDownloads < config.downloads_min ||
    maxDownloads > config.downloads_max
  ) {
    throw new SealpostError("downloads_invalid", {
      min: config.downloads_min,
      max: config.downloads_max,
    });
  }
}

// The first path pyodide_crypto would refuse, as an error naming it, or null.
async function checkPaths({ paths, dirs }) {
  const py = await runtime();
  const refused = py.check_paths(paths, dirs);
  if (refused === undefined || refused === null) return null;
  return { path: refused.path, reason: refused.reason };
}

async function send(
  { files, paths, dirs, code, message, expiresIn, maxDownloads, origin },
  emit,
) {
  const config = await getConfig();
  checkLimits(config, files, expiresIn, maxDownloads);
  const py = await runtime();

  // Relative paths of files picked in folders; a plain pick is its name.
  const filePaths = paths ?? files.map((file) => file.name);
  const folders = dirs ?? [];
  const refused = await checkPaths({ paths: filePaths, dirs: folders });
  if (refused !== null) {
    throw new SealpostError("path_invalid", { name: refused.path });
  }
  const secondChannel = typeof code === "string" ? code : null;
  if (secondChannel !== null) {
    const problem = py.check_code(secondChannel);
    if (problem !== undefined && problem !== null) {
      throw new SealpostError("code_invalid", { reason: String(problem) });
    }
  }

  const descriptions = files.map((file, index) => ({
    path: filePaths[index],
    size: file.size,
    type: file.type || "application/octet-stream",
  }));
  let sender;
  try {
    sender = await callAsync(py.create_sender, descriptions, folders, secondChannel);
  } catch (error) {
    throw refusedInput(error, "file_invalid");
  }
  try {
    const info = await callAsync(py.sender_info, sender, files.length);
    let envelope;
    try {
      envelope = await callAsync(
        py.seal_manifest,
        sender,
        message,
        expiresIn,
        maxDownloads,
      );
    } catch (error) {
      throw refusedInput(error, "message_invalid");
    }
    if (envelope.length > config.max_manifest_bytes) {
      throw new SealpostError("manifest_too_large", {
        limit: config.max_manifest_bytes,
      });
    }

    const created = await postJSON(
      "/api/shares",
      {
        expires_in: expiresIn,
        max_downloads: maxDownloads,
        claim_verifier: info.claimVerifier,
        files: info.ciphertextSizes.map((size) => ({ size })),
        manifest_size: envelope.length,
        // The KDF description and SHA-256 of the unlock proof: never the code.
        ...(info.code ? { code: info.code } : {}),
      },
      {},
      // A link share is anonymous: a staff session in this browser must
      // neither sign it nor make the server ask for its CSRF token.
      { credentials: "omit" },
    );
    const owner = { Authorization: `Bearer ${created.owner_token}` };
    const base = `/api/shares/${encodeURIComponent(created.id)}`;

    const progress = new Progress(
      emit,
      files.reduce((sum, file) => sum + file.size, 0),
      info.ciphertextSizes.reduce((sum, size) => sum + size, 0) + envelope.length,
    );
    for (let index = 0; index < files.length; index += 1) {
      await sendFile(py, sender, index, files[index], `${base}/files/${index}`, {
        owner,
        progress,
        expectedSize: info.ciphertextSizes[index],
      });
    }

    await putBytes(`${base}/manifest`, envelope, owner);
    progress.uploaded(envelope.length);
    await postJSON(`${base}/finalize`, {}, owner);
    return {
      id: created.id,
      expiresAt: created.expires_at,
      link: `${origin}/s/${created.id}#${info.fragment}`,
      manageLink: `${origin}/m/${created.id}#${created.owner_token}`,
      code: secondChannel,
    };
  } finally {
    sender.destroy();
  }
}

class Progress {
  constructor(emit, plainTotal, cipherTotal) {
    this.emit = emit;
    this.encryptedBytes = 0;
    this.uploadedBytes = 0;
    this.plainTotal = plainTotal;
    this.cipherTotal = cipherTotal;
    this.report();
  }

  encrypted(count) {
    this.encryptedBytes += count;
    this.report();
  }

  uploaded(count) {
    this.uploadedBytes += count;
    this.report();
  }

  report() {
    this.emit({
      type: "progress",
      encrypted: this.encryptedBytes,
      encryptTotal: this.plainTotal,
      uploaded: this.uploadedBytes,
      uploadTotal: this.cipherTotal,
    });
  }
}

async function putBytes(path, bytes, headers, offset = null) {
  const extra = offset === null ? {} : { "Upload-Offset": String(offset) };
  const response = await request(path, {
    method: "PUT",
    headers: { "Content-Type": "application/octet-stream", ...headers, ...extra },
    body: bytes,
  });
  if (!response.ok) throw await failure(response);
  await response.body?.cancel();
}

// PUT one window at `start`. The server keeps every byte it received, so a
// dropped connection resumes from its offset instead of failing the share.
async function uploadWindow(path, bytes, headers, start) {
  let sent = 0;
  for (let attempt = 1; ; attempt += 1) {
    try {
      await putBytes(path, bytes.subarray(sent), headers, start + sent);
      return;
    } catch (error) {
      const retriable = error instanceof SealpostError && error.code === "network";
      if (!retriable || attempt >= UPLOAD_ATTEMPTS) throw error;
      await pause(UPLOAD_RETRY_MS * attempt);
      let state;
      try {
        state = await json(`${path}/upload`, { headers });
      } catch {
        continue;
      }
      const received = Number(state.received);
      if (!(received >= start + sent && received <= start + bytes.length)) {
        throw error;
      }
      sent = received - start;
      if (sent === bytes.length) return;
    }
  }
}

function pause(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// Encrypt window k+1 while window k uploads: at most three windows in memory.
async function sendFile(py, sender, index, file, path, options) {
  const { owner, progress, expectedSize } = options;
  const encryptor = await callAsync(py.file_encryptor, sender, index);
  try {
    const header = py.encryptor_header(encryptor);
    let offset = 0;
    let upload = Promise.resolve();
    const queueUpload = (bytes) => {
      const start = offset;
      offset += bytes.length;
      upload = upload.then(async () => {
        await uploadWindow(path, bytes, owner, start);
        progress.uploaded(bytes.length);
      });
      // The rejection is handled where the chain is awaited; this only keeps
      // the runtime from reporting it as unhandled in the meantime.
      upload.catch(() => {});
    };

    queueUpload(header);
    for await (const { window, final } of readWindows(file)) {
      const sealed = await callAsync(py.seal_window, encryptor, window, final);
      progress.encrypted(window.length);
      await upload;
      queueUpload(sealed);
    }
    await upload;
    if (offset !== expectedSize) {
      throw new SealpostError("file_changed", { name: file.name });
    }
  } finally {
    encryptor.destroy();
  }
}

// Yield the file as windows of whole chunks; the last window is final (it may
// be short or empty: a 0-byte file is one empty final window).
async function* readWindows(file) {
  const reader = file.stream().getReader();
  let window = new Uint8Array(PLAIN_WINDOW);
  let filled = 0;
  let total = 0;
  try {
    for (;;) {
      let chunk;
      try {
        chunk = await reader.read();
      } catch {
        throw new SealpostError("file_unreadable", { name: file.name });
      }
      if (chunk.done) break;
      let data = chunk.value;
      total += data.length;
      if (total > file.size) {
        throw new SealpostError("file_changed", { name: file.name });
      }
      while (data.length > 0) {
        const take = Math.min(PLAIN_WINDOW - filled, data.length);
        window.set(data.subarray(0, take), filled);
        filled += take;
        data = data.subarray(take);
        if (filled === PLAIN_WINDOW && total < file.size) {
          yield { window, final: false };
          window = new Uint8Array(PLAIN_WINDOW);
          filled = 0;
        }
      }
    }
  } finally {
    reader.releaseLock();
  }
  if (total !== file.size) {
    throw new SealpostError("file_changed", { name: file.name });
  }
  yield { window: window.subarray(0, filled), final: true };
}

// ---------------------------------------------------------------- receiving

async function openShare({ id, fragment }, emit) {
  if (typeof fragment !== "string" || !FRAGMENT.test(fragment) || !id) {
    throw new SealpostError("bad_link");
  }
  emit({ stage: "fetching" });
  const base = `/api/shares/${encodeURIComponent(id)}`;
  const info = await json(base);
  if (info.code !== null && info.code !== undefined) {
    emit({ stage: "runtime" });
    const py = await runtime();
    // Settings below the floor or above the ceiling are refused before
    // any derivation: no weak Argon2id run, no stalled browser.
    try {
      py.check_code_settings(info.code);
    } catch (error) {
      throw codeSettingsError(error);
    }
    locked = { base, fragment, info };
    return { needCode: true, attemptsLeft: info.code.attempts_left };
  }
  const response = await request(`${base}/manifest`);
  if (!response.ok) throw await failure(response);
  const envelope = await responseBytes(response);
  emit({ stage: "runtime" });
  const py = await runtime();
  emit({ stage: "decrypting" });

  let recipient;
  try {
    recipient = await callAsync(py.open_share, fragment, envelope);
  } catch (error) {
    throw pythonError(error, "bad_link");
  }
  return accept(py, base, info, recipient);
}

function codeSettingsError(error) {
  const type = error && error.type;
  if (type === "ParameterError" || type === "FormatError") {
    return new SealpostError("code_unsafe");
  }
  return error;
}

async function responseBytes(response) {
  try {
    return new Uint8Array(await response.arrayBuffer());
  } catch (error) {
    throw new SealpostError("network", { detail: describe(error) });
  }
}

// Open a code share with the code the person typed: Argon2id runs once,
// and its result both proves the code to the server (which counts wrong
// ones) and opens the envelope. Which of link or code was wrong is never
// said: the server cannot tell, and the page must not guess.
async function unlockShare({ code }, emit) {
  if (locked === null) throw new SealpostError("internal", { detail: "no share" });
  const { base, fragment, info } = locked;
  const py = await runtime();
  // A code that cannot be one is said before Argon2id runs, and costs no
  // attempt: the server never hears of it.
  const problem = py.check_code(String(code));
  if (problem !== undefined && problem !== null) {
    throw new SealpostError("code_invalid", { reason: String(problem) });
  }
  emit({ stage: "checking" });
  let secret;
  try {
    secret = await callAsync(py.derive_code, fragment, info.code, String(code));
  } catch (error) {
    if (error && error.type === "FormatError") throw new SealpostError("bad_link");
    // The code passed above, so what is left to refuse is the settings.
    throw codeSettingsError(error);
  }
  try {
    const response = await request(`${base}/unlock`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ proof: py.unlock_proof(secret) }),
    });
    if (response.status === 403) {
      let answer = {};
      try {
        answer = await response.json();
      } catch {
        // Not JSON: handled as any other refusal below.
      }
      if (answer.error === "wrong_code") {
        throw new SealpostError("wrong_code", {
          attemptsLeft: Number(answer.attempts_left),
        });
      }
      throw new SealpostError("server", { status: 403, detail: answer.error ?? "" });
    }
    // A share locked after too many wrong codes answers 404 like any other.
    if (!response.ok) throw await failure(response);
    const envelope = await responseBytes(response);
    emit({ stage: "decrypting" });
    let recipient;
    try {
      recipient = await callAsync(py.open_share, fragment, envelope, secret);
    } catch (error) {
      // The server took the proof, so link and code were right: the
      // envelope itself is damaged.
      throw pythonError(error, "bad_link");
    }
    locked = null;
    return accept(py, base, info, recipient);
  } finally {
    secret.destroy();
  }
}

// Keep an opened share for the page's downloads and describe it to the page.
function accept(py, base, info, recipient) {
  const details = py.recipient_info(recipient);
  if (details.files.length !== info.files.length) {
    recipient.destroy();
    throw new SealpostError("tampered");
  }
  if (received !== null) received.recipient.destroy();
  // The recipient handle lives as long as the page (and this worker).
  received = {
    base,
    recipient,
    claimProof: details.claimProof,
    files: details.files,
    // Folders "download all" adds to the zip (the empty ones).
    dirs: details.dirs,
    blobSizes: info.files.map((file) => file.size),
    ticket: null,
  };
  return {
    message: details.message,
    expiresAt: info.expires_at,
    files: details.files.map(({ name, safeName, size, type }, index) => ({
      index,
      name,
      safeName,
      size,
      type,
    })),
    dirs: details.dirs,
  };
}

// The first download claims (counts one download); the ticket then serves
// every file for the page's lifetime. Never called without a click (C06).
// The promise is shared so that two downloads started together claim once.
// TODO: a ticket outliving ticket_seconds makes later files fail; re-claiming
// would count a second download, so it needs a server-side renewal first.
function ticket() {
  if (received === null) {
    return Promise.reject(new SealpostError("internal", { detail: "no share" }));
  }
  if (received.ticket === null) {
    const share = received;
    share.ticket = postJSON(`${share.base}/claim`, { proof: share.claimProof }).then(
      (claim) => claim.ticket,
    );
    // A failed claim counted nothing: the next click may try again.
    share.ticket.catch(() => {
      share.ticket = null;
    });
  }
  return received.ticket;
}

async function fetchRange(index, start, end) {
  const response = await request(`${received.base}/files/${index}`, {
    headers: {
      "Sealpost-Ticket": await ticket(),
      Range: `bytes=${start}-${end - 1}`,
    },
  });
  if (!response.ok) throw await failure(response);
  let bytes;
  try {
    bytes = new Uint8Array(await response.arrayBuffer());
  } catch (error) {
    // The connection was cut while the body was arriving (C11).
    throw new SealpostError("network", { detail: describe(error) });
  }
  if (bytes.length !== end - start) {
    throw new SealpostError("network", { detail: "short range response" });
  }
  return bytes;
}

// Stream file `index` to the consumer at the other end of `port` (the
// service worker, or the page when it has none): one decrypted window for
// each "pull". Resolves when the consumer got the last window; any failure
// is sent to the consumer first so that it errors the download stream.
async function download({ index, port }, emit) {
  if (received === null) throw new SealpostError("internal", { detail: "no share" });
  const py = await runtime();
  const file = received.files[index];
  if (file === undefined) throw new SealpostError("internal", { detail: "bad index" });
  await pump(port, fileWindows(py, index), (done) =>
    emit({ type: "progress", done, total: file.size }),
  );
}

// The decrypted windows of file `index`, fetched and decrypted one window
// ahead of the consumer. Throws "tampered" at the first window that fails
// authentication, before any of its bytes are yielded.
async function* fileWindows(py, index) {
  const file = received.files[index];
  const blobSize = received.blobSizes[index];
  if (blobSize !== py.ciphertext_size(file.size)) {
    throw new SealpostError("tampered");
  }
  const header = await fetchRange(index, 0, STREAM_HEADER_SIZE);
  let decryptor;
  try {
    decryptor = await callAsync(py.file_decryptor, received.recipient, index, header);
  } catch (error) {
    throw pythonError(error, "tampered");
  }

  const produce = async (start) => {
    const end = Math.min(start + CIPHER_WINDOW, blobSize);
    const final = end === blobSize;
    const ciphertext = await fetchRange(index, start, end);
    let plaintext;
    try {
      plaintext = await callAsync(py.open_window, decryptor, ciphertext, final);
    } catch (error) {
      throw pythonError(error, "tampered");
    }
    return { plaintext, end, final };
  };

  let next = produce(STREAM_HEADER_SIZE);
  next.catch(() => {});
  try {
    for (;;) {
      const { plaintext, end, final } = await next;
      if (!final) {
        next = produce(end);
        next.catch(() => {});
      }
      yield plaintext;
      if (final) return;
    }
  } finally {
    // A consumer that stops early leaves a window in flight: it must be
    // done with the decryptor before the decryptor goes.
    await next.catch(() => {});
    decryptor.destroy();
  }
}

// Send `chunks` (an async iterable of Uint8Array) down `port`, one per
// "pull", then "end". Any failure is sent to the consumer first so that it
// errors the download stream, never completes it.
async function pump(port, chunks, onProgress) {
  const pulls = new PullQueue(port);
  const iterator = chunks[Symbol.asyncIterator]();
  let delivered = 0;
  try {
    for (;;) {
      await pulls.next();
      let { value, done } = await iterator.next();
      // An empty piece (a 0-byte file's window, in a zip) answers no pull.
      while (!done && value.length === 0) ({ value, done } = await iterator.next());
      if (done) break;
      // Read before the transfer below empties the view.
      delivered += value.length;
      const buffer = standalone(value);
      port.postMessage({ type: "data", buffer }, [buffer]);
      onProgress(delivered);
    }
    port.postMessage({ type: "end" });
  } catch (error) {
    if (!(error instanceof SealpostError && error.code === "cancelled")) {
      port.postMessage({ type: "error" });
    }
    await iterator.return?.().catch(() => {});
    throw error;
  } finally {
    pulls.close();
  }
}

// The size of the zip that "download all" makes (for Content-Length).
async function zipSize() {
  if (received === null) throw new SealpostError("internal", { detail: "no share" });
  const { predictLength } = await clientZip();
  return Number(predictLength(zipMetadata()));
}

// Every file under its path, then the empty folders: the same order for the
// size prediction and the archive, as client-zip requires.
function zipMetadata() {
  return [
    ...received.files.map((file) => ({ name: file.zipPath, size: file.size })),
    ...received.dirs.map((dir) => ({ name: `${dir}/` })),
  ];
}

function clientZip() {
  if (vendorBase === null) {
    return Promise.reject(new SealpostError("internal", { detail: "no runtime" }));
  }
  return import(`${vendorBase}client-zip.js`);
}

// "Download all": one zip stream of every file with its path, plus the
// empty folders, made while decrypting. client-zip stores (no compression)
// and reads each file's windows only as the consumer pulls, so memory stays
// at a few windows whatever the share's size; it switches to zip64 by
// itself. A window failing authentication errors the whole zip.
async function downloadZip({ port }, emit) {
  if (received === null) throw new SealpostError("internal", { detail: "no share" });
  const py = await runtime();
  const { makeZip, predictLength } = await clientZip();
  const total = Number(predictLength(zipMetadata()));
  // Every entry is dated now: the manifest carries no dates, on purpose.
  const lastModified = new Date();
  const started = [];
  const entries = function* () {
    for (const [index, file] of received.files.entries()) {
      const input = lazyStream(() => {
        const windows = fileWindows(py, index);
        started.push(windows);
        return windows;
      });
      yield { name: file.zipPath, size: file.size, lastModified, input };
    }
    for (const dir of received.dirs) yield { name: `${dir}/`, lastModified };
  };
  const reader = makeZip(entries()).getReader();
  const chunks = {
    [Symbol.asyncIterator]() {
      return {
        next: () => reader.read(),
        return: async () => {
          await reader.cancel().catch(() => {});
          return { done: true, value: undefined };
        },
      };
    },
  };
  try {
    await pump(port, chunks, (done) => emit({ type: "progress", done, total }));
  } finally {
    // A stopped zip leaves a file's windows half read; each one must let
    // go of its decryptor.
    await Promise.all(started.map((windows) => windows.return().catch(() => {})));
  }
}

// A byte stream that starts `open()` (an async iterator) at its first read
// and asks it for one window per read: highWaterMark 0 buffers nothing.
function lazyStream(open) {
  let iterator = null;
  return new ReadableStream(
    {
      async pull(controller) {
        iterator ??= open();
        const { value, done } = await iterator.next();
        if (done) controller.close();
        else controller.enqueue(value);
      },
      async cancel() {
        await iterator?.return();
      },
    },
    { highWaterMark: 0 },
  );
}

// An ArrayBuffer holding exactly these bytes, safe to transfer away.
function standalone(bytes) {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength) {
    return bytes.buffer;
  }
  return bytes.slice().buffer;
}

// The consumer's "pull" and "cancel" messages, awaited one at a time.
class PullQueue {
  constructor(port) {
    this.port = port;
    this.pending = 0;
    this.waiter = null;
    this.cancelled = false;
    port.onmessage = (event) => {
      if (event.data.type === "cancel") this.cancelled = true;
      else if (event.data.type === "pull") this.pending += 1;
      this.wake();
    };
    port.start();
  }

  wake() {
    if (this.waiter === null) return;
    const waiter = this.waiter;
    this.waiter = null;
    waiter();
  }

  async next() {
    while (this.pending === 0 && !this.cancelled) {
      await new Promise((resolve) => {
        this.waiter = resolve;
      });
    }
    if (this.cancelled) throw new SealpostError("cancelled");
    this.pending -= 1;
  }

  close() {
    this.port.onmessage = null;
    this.port.close();
  }
}
