// Service worker: turns a MessagePort fed by the decrypting worker into the
// body of a download, so files of any size stream to disk (C12).
//
// The receive page posts {type: "download", nonce, name, size} with two
// ports: `data` (connected to the worker: we send "pull"/"cancel", it sends
// "data"/"end"/"error") and `control` (back to the page: "registered", then
// "closed", "errored" or "cancelled"). The page then points a hidden frame
// at /download/<nonce>/<name>; that navigation is answered here with an
// attachment, never rendered (C05). A window that fails authentication
// errors the stream, so the browser marks the download failed (C11).

"use strict";

const DOWNLOAD_PREFIX = "/download/";
const NONCE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
// Characters a quoted filename= must not hold; the UTF-8 filename* carries
// the real name, this ASCII one is for clients that ignore it.
const NOT_QUOTABLE = /[^\x20-\x7e]|["\\%]/g;

// nonce -> {data, control, name, size}; an entry is used once.
const pending = new Map();

self.addEventListener("install", (event) => {
  event.waitUntil(self.skipWaiting());
});

self.addEventListener("activate", (event) => {
  event.waitUntil(self.clients.claim());
});

self.addEventListener("message", (event) => {
  const message = event.data;
  if (message === null || typeof message !== "object") return;
  if (message.type === "download") {
    const [data, control] = event.ports;
    if (!NONCE.test(String(message.nonce)) || !data || !control) return;
    pending.set(message.nonce, {
      data,
      control,
      name: String(message.name || "download"),
      size: Number(message.size),
    });
    control.postMessage({ type: "registered" });
  } else if (message.type === "forget") {
    const entry = pending.get(message.nonce);
    if (entry !== undefined) {
      pending.delete(message.nonce);
      entry.data.close();
      entry.control.close();
    }
  }
  // "keepalive" needs no answer: receiving it is the point.
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (url.origin !== self.location.origin) return;
  if (!url.pathname.startsWith(DOWNLOAD_PREFIX)) return;
  const nonce = url.pathname.slice(DOWNLOAD_PREFIX.length).split("/")[0];
  const entry = pending.get(nonce);
  pending.delete(nonce);
  if (entry === undefined) {
    event.respondWith(
      new Response("This download is no longer available.\n", {
        status: 404,
        headers: { "Content-Type": "text/plain; charset=utf-8" },
      }),
    );
    return;
  }
  event.respondWith(downloadResponse(entry));
});

function downloadResponse({ data, control, name, size }) {
  let controller = null;
  let release = null;
  let ended = false;

  const end = (type, action) => {
    if (ended) return;
    ended = true;
    action();
    control.postMessage({ type });
    control.close();
    data.close();
    wake();
  };
  const wake = () => {
    if (release === null) return;
    const resolve = release;
    release = null;
    resolve();
  };

  data.onmessage = (event) => {
    const message = event.data;
    if (ended) return;
    if (message.type === "data") {
      const bytes = new Uint8Array(message.buffer);
      if (bytes.length === 0) {
        // A pull that settles without enqueuing is never called again (the
        // browser's read stays pending): ask for the next piece instead.
        data.postMessage({ type: "pull" });
        return;
      }
      controller.enqueue(bytes);
      wake();
    } else if (message.type === "end") {
      end("closed", () => controller.close());
    } else {
      // Authentication failure or lost connection: the browser must mark
      // the download failed, never complete.
      end("errored", () => controller.error(new TypeError("download failed")));
    }
  };

  // highWaterMark 0: a window is asked for only when the browser reads, so
  // at most one window waits here whatever the file size (C12).
  const stream = new ReadableStream(
    {
      start(streamController) {
        controller = streamController;
      },
      pull() {
        return new Promise((resolve) => {
          release = resolve;
          data.postMessage({ type: "pull" });
        });
      },
      cancel() {
        if (!ended) data.postMessage({ type: "cancel" });
        end("cancelled", () => {});
      },
    },
    { highWaterMark: 0 },
  );

  const headers = {
    "Content-Type": "application/octet-stream",
    "Content-Disposition": contentDisposition(name),
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cache-Control": "no-store",
  };
  if (Number.isSafeInteger(size) && size >= 0) {
    headers["Content-Length"] = String(size);
  }
  return new Response(stream, { headers });
}

// attachment; filename="<ascii stand-in>"; filename*=UTF-8''<exact name>
function contentDisposition(name) {
  const ascii = name.replace(NOT_QUOTABLE, "_");
  const encoded = encodeURIComponent(name).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}
