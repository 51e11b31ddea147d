// "Reply securely" on the receive page: when the opened share invites an
// answer (its encrypted manifest names a key and a mailbox), anyone holding
// the link can answer with files and a message, encrypted in this browser
// to that key. The worker reads the target from the share it opened, so
// neither the server nor a crafted link can redirect the answer.

import { asSealpostError, SealpostError } from "../errors.js";
import { t } from "../i18n.js";
import { clearError, showError } from "./common.js";

export async function setupReply(worker, container) {
  const target = await worker.call("reply_target");
  if (target === null || container === null) return;

  const heading = element("h2", "reply.heading");
  const hint = element("p", "reply.hint");
  hint.className = "hint";
  const files = document.createElement("input");
  files.type = "file";
  files.multiple = true;
  files.id = "reply-files";
  const filesLabel = label("reply-files", "account.files_label");
  const message = document.createElement("textarea");
  message.id = "reply-message";
  message.rows = 4;
  const messageLabel = label("reply-message", "send.message_label");
  const send = element("button", "reply.send");
  send.type = "submit";
  send.id = "reply-send";
  send.className = "button primary";
  const done = element("p", "reply.done");
  done.id = "reply-done";
  done.className = "hint";
  done.hidden = true;

  const form = document.createElement("form");
  form.id = "reply-form";
  form.noValidate = true;
  const actions = document.createElement("p");
  actions.append(send);
  form.append(filesLabel, files, messageLabel, message, actions);
  container.replaceChildren(heading, hint, form, done);
  container.hidden = false;

  let busy = false;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (busy) return;
    clearError();
    const chosen = [...files.files];
    if (chosen.length === 0 && message.value.trim() === "") {
      showError(new SealpostError("no_files"));
      return;
    }
    busy = true;
    send.disabled = true;
    container.dataset.state = "sending";
    try {
      await worker.call("reply_send", {
        files: chosen,
        message: message.value,
        origin: location.origin,
      });
      form.hidden = true;
      done.hidden = false;
      container.dataset.state = "sent";
    } catch (error) {
      container.dataset.state = "failed";
      showError(asSealpostError(error));
    } finally {
      busy = false;
      send.disabled = false;
    }
  });
}

// Elements whose text follows the language switch (data-i18n).
function element(tag, key) {
  const node = document.createElement(tag);
  node.dataset.i18n = key;
  node.textContent = t(key);
  return node;
}

function label(forId, key) {
  const node = element("label", key);
  node.className = "field-label";
  node.htmlFor = forId;
  return node;
}
