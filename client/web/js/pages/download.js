// Saving a decrypted file to disk. The worker decrypts window by window into
// a MessagePort; the service worker (/sw.js) turns that port into the body
// of a download response, so no file is ever held whole in memory (C12).
// Without a service worker (disabled by policy, private windows) the file is
// gathered in memory and saved from a Blob.

import { SealpostError } from "../errors.js";

// Registering /sw.js takes a moment on the first visit; past this the page
// saves from memory instead of waiting on a service worker that never comes.
const SERVICE_WORKER_WAIT_MS = 15_000;
// The service worker answers a registration at once; a silent one is gone.
const REGISTER_WAIT_MS = 10_000;
// Browsers stop an idle service worker after ~30 s; a message resets that
// clock while a long download streams through it.
const KEEPALIVE_MS = 10_000;
// A Blob URL must outlive the click that starts the download.
const BLOB_URL_LIFETIME_MS = 60_000;

export class DownloadChannel {
  constructor(worker) {
    this.worker = worker;
    this.registration = null;
  }

  // Start registering the service worker (never claims or fetches a share).
  prepare() {
    if (this.registration === null) {
      this.registration = registerServiceWorker();
    }
    return this.registration;
  }

  // Download file `index` ({name, safeName, size}); resolves when all of it
  // went to the browser, rejects with a SealpostError otherwise.
  save(index, file, onEvent) {
    const job = { op: "download", args: { index }, name: file.safeName };
    return this.run({ ...job, size: file.size }, onEvent);
  }

  // Download every file and folder as one zip named `name`.
  async saveAll(name, onEvent) {
    const size = await this.worker.call("zip_size");
    return this.run({ op: "download_zip", args: {}, name, size }, onEvent);
  }

  // `job`: the worker operation that feeds the port, the name to save under
  // and the exact size of what it sends.
  async run(job, onEvent) {
    // The first download of the page counts one download on the server.
    await this.worker.call("claim");
    const registration = await this.prepare();
    if (registration === null) {
      return saveFromMemory(this.worker, job, onEvent);
    }
    return saveThroughServiceWorker(this.worker, registration, job, onEvent);
  }
}

async function registerServiceWorker() {
  if (!("serviceWorker" in navigator)) return null;
  try {
    await navigator.serviceWorker.register("/sw.js", { scope: "/" });
    return await withTimeout(navigator.serviceWorker.ready, SERVICE_WORKER_WAIT_MS);
  } catch {
    return null;
  }
}

function withTimeout(promise, ms) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new SealpostError("no_service_worker")), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function saveThroughServiceWorker(worker, registration, job, onEvent) {
  const serviceWorker = registration.active;
  if (serviceWorker === null) throw new SealpostError("no_service_worker");
  const data = new MessageChannel();
  const control = new MessageChannel();
  const nonce = crypto.randomUUID();

  // The service worker tells on `control` that it knows the nonce, then
  // whether the stream it served ended closed, errored or cancelled.
  let registered;
  let streamEnded;
  const registeredPromise = new Promise((resolve) => {
    registered = resolve;
  });
  const endedPromise = new Promise((resolve) => {
    streamEnded = resolve;
  });
  control.port1.onmessage = (event) => {
    if (event.data?.type === "registered") registered();
    else streamEnded(event.data?.type);
  };
  serviceWorker.postMessage(
    { type: "download", nonce, name: job.name, size: job.size },
    [data.port2, control.port2],
  );
  await withTimeout(registeredPromise, REGISTER_WAIT_MS);

  const keepalive = setInterval(
    () => serviceWorker.postMessage({ type: "keepalive" }),
    KEEPALIVE_MS,
  );
  const frame = document.createElement("iframe");
  frame.hidden = true;
  frame.className = "download-frame";
  try {
    const done = worker.call(
      job.op,
      { ...job.args, port: data.port1 },
      { onEvent, transfer: [data.port1] },
    );
    // The navigation becomes a download (Content-Disposition: attachment);
    // the frame never renders what it gets (C05).
    frame.src = `/download/${nonce}/${encodeURIComponent(job.name)}`;
    document.body.append(frame);
    await done;
    // Every window went out; the frame may go once the stream has closed.
    await endedPromise;
  } catch (error) {
    serviceWorker.postMessage({ type: "forget", nonce });
    throw error;
  } finally {
    clearInterval(keepalive);
    frame.remove();
    control.port1.close();
  }
}

async function saveFromMemory(worker, job, onEvent) {
  const data = new MessageChannel();
  const parts = [];
  const received = new Promise((resolve, reject) => {
    data.port2.onmessage = (event) => {
      const message = event.data;
      if (message.type === "data") {
        parts.push(message.buffer);
        data.port2.postMessage({ type: "pull" });
      } else if (message.type === "end") {
        resolve();
      } else {
        reject(new SealpostError("tampered"));
      }
    };
  });
  received.catch(() => {});
  const done = worker.call(
    job.op,
    { ...job.args, port: data.port1 },
    { onEvent, transfer: [data.port1] },
  );
  data.port2.postMessage({ type: "pull" });
  try {
    // The worker's own error is the precise one; it settles first.
    await done;
    await received;
  } finally {
    data.port2.close();
  }

  // TODO: this path holds the whole file in memory; it can go when every
  // browser we support offers service workers in all of its window types.
  const url = URL.createObjectURL(
    new Blob(parts, { type: "application/octet-stream" }),
  );
  const anchor = document.createElement("a");
  anchor.href = url;
  anchor.download = job.name;
  anchor.hidden = true;
  document.body.append(anchor);
  anchor.click();
  anchor.remove();
  setTimeout(() => URL.revokeObjectURL(url), BLOB_URL_LIFETIME_MS);
}
