// The self-service request view of /app: name, department, handle and a
// passphrase; the worker makes the keys and sends the request, and the
// page shows the key's fingerprint for the person to read aloud to the
// administrator who approves it.

import { SealpostError } from "../errors.js";
import { byId } from "./common.js";

// The handle the server would make from a name (docs/api-admin.md):
// accents removed, lowercase, other runs become one ".".
export function handleFromName(name) {
  return name
    .normalize("NFKD")
    .replace(/\p{M}/gu, "")
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, ".")
    .replace(/^\.+|\.+$/g, "");
}

export function setupRequest(page, { show }) {
  const onStage = { onEvent: (event) => event.stage && page.status(event.stage) };
  let handleTouched = false;

  byId("show-request").addEventListener("click", () => {
    byId("request-form").hidden = false;
    byId("request-sent").hidden = true;
    show("request");
  });
  byId("request-back").addEventListener("click", () => show("login"));
  byId("request-handle").addEventListener("input", () => {
    handleTouched = true;
  });
  byId("request-name").addEventListener("input", () => {
    if (!handleTouched) {
      byId("request-handle").value = handleFromName(byId("request-name").value);
    }
  });
  byId("request-form").addEventListener("submit", (event) => {
    event.preventDefault();
    page.run(send);
  });

  async function send() {
    const name = byId("request-name").value.trim();
    const department = byId("request-department").value.trim();
    const handle = byId("request-handle").value.trim();
    const passphrase = byId("request-pass1").value;
    if (passphrase !== byId("request-pass2").value) {
      throw new SealpostError("passphrase_mismatch");
    }
    if (name === "" || department === "" || handle === "") {
      throw new SealpostError("request_incomplete");
    }
    const sent = await page.worker.call(
      "request_send",
      { name, department, handle, passphrase },
      onStage,
    );
    byId("request-pass1").value = "";
    byId("request-pass2").value = "";
    byId("request-fingerprint").textContent = sent.fingerprint;
    byId("request-form").hidden = true;
    byId("request-sent").hidden = false;
    byId("login-handle").value = sent.handle;
  }
}
