// The page's handle on js/worker.js: one request/response pair per call,
// with progress events delivered to the caller's callback on the way.

import { fromErrorPayload, SealpostError } from "./errors.js";

export class WorkerClient {
  constructor() {
    this.worker = new Worker(new URL("./worker.js", import.meta.url), {
      type: "module",
    });
    this.nextId = 1;
    this.calls = new Map();
    this.worker.addEventListener("message", (event) => this.receive(event.data));
    // A worker that fails to load (CSP, missing file) only says so here.
    this.worker.addEventListener("error", (event) => {
      event.preventDefault();
      this.failAll(new SealpostError("runtime_failed", { detail: "worker" }));
    });
  }

  call(op, args = {}, { onEvent = null, transfer = [] } = {}) {
    const id = this.nextId;
    this.nextId += 1;
    return new Promise((resolve, reject) => {
      this.calls.set(id, { resolve, reject, onEvent });
      this.worker.postMessage({ id, op, args }, transfer);
    });
  }

  receive(message) {
    const call = this.calls.get(message.id);
    if (call === undefined) return;
    if (message.event !== undefined) {
      if (call.onEvent !== null) call.onEvent(message.event);
      return;
    }
    this.calls.delete(message.id);
    if (message.ok) call.resolve(message.result);
    else call.reject(fromErrorPayload(message.error));
  }

  failAll(error) {
    for (const call of this.calls.values()) call.reject(error);
    this.calls.clear();
  }
}
