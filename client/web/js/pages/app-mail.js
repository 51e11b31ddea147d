// The mailbox views of /app: the own inbox and the box inboxes beside it,
// an opened item (message, files, downloads through the worker and the
// service worker) and composing to staff and boxes from the directory.
// Every fingerprint shown here is computed in the worker from the very key
// the share is then encrypted to.

import { asSealpostError, SealpostError } from "../errors.js";
import { formatBytes, formatPercent, t } from "../i18n.js";
import { byId, errorMessage, showError } from "./common.js";
import { inboxRow, senderText } from "./inbox-row.js";

// How long a directory search waits for more typing before it asks.
const SEARCH_DELAY_MS = 250;

export function setupMail(page) {
  const state = {
    inbox: null,
    item: null,
    files: [],
    results: [],
    recipients: [],
    sent: null,
  };
  let searchTimer = null;

  byId("inbox-refresh").addEventListener("click", () => page.run(refresh));
  byId("item-back").addEventListener("click", () => {
    page.showPanel("inbox");
    page.run(refresh);
  });
  byId("dir-search").addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => search().catch(showError), SEARCH_DELAY_MS);
  });
  byId("compose-send").addEventListener("click", () => page.run(send));
  // A reply goes to the key and mailbox named inside the encrypted
  // manifest (reply_to), never to one the server would look up now.
  byId("item-reply").addEventListener("click", () => {
    byId("item-reply-form").hidden = false;
    byId("item-reply-done").hidden = true;
    byId("item-reply-message").focus();
  });
  byId("item-reply-form").addEventListener("submit", (event) => {
    event.preventDefault();
    page.run(reply);
  });

  async function refresh() {
    page.status("fetching");
    state.inbox = await page.worker.call("inbox");
    render();
  }

  async function open(item) {
    const share = await page.worker.call(
      "open_item",
      { shareId: item.share_id },
      { onEvent: (event) => event.stage && page.status(event.stage) },
    );
    state.item = { ...share, sender: item.sender, createdAt: item.created_at };
    state.files = share.files.map(() => ({ state: "idle", done: 0, error: null }));
    byId("item-reply-form").hidden = true;
    byId("item-reply-done").hidden = true;
    page.showPanel("item");
  }

  async function download(index) {
    const entry = state.files[index];
    if (entry.state === "downloading") return;
    Object.assign(entry, { state: "downloading", done: 0, error: null });
    render();
    try {
      await page.downloads.save(index, state.item.files[index], (event) => {
        if (event.type === "progress") {
          entry.done = event.done;
          render();
        }
      });
      entry.state = "done";
    } catch (error) {
      const failure = asSealpostError(error);
      entry.state = failure.code === "cancelled" ? "idle" : "failed";
      entry.error = failure.code === "cancelled" ? null : failure;
      if (entry.error !== null) showError(entry.error);
    }
    render();
  }

  async function reply() {
    const files = [...byId("item-reply-files").files];
    const message = byId("item-reply-message").value;
    if (files.length === 0 && message.trim() === "") {
      throw new SealpostError("no_files");
    }
    page.status("account.stage_sending");
    await page.worker.call("reply_send", { files, message, origin: location.origin });
    byId("item-reply-files").value = "";
    byId("item-reply-message").value = "";
    byId("item-reply-form").hidden = true;
    byId("item-reply-done").hidden = false;
  }

  async function search() {
    const q = byId("dir-search").value.trim();
    const found = await page.worker.call("directory", { q });
    state.results = [...found.accounts, ...found.boxes];
    render();
  }

  function choose(entry) {
    const taken = state.recipients.some(
      (r) => r.kind === entry.kind && r.id === entry.id,
    );
    if (!taken) state.recipients.push(entry);
    render();
  }

  async function send() {
    const files = [...byId("compose-files").files];
    const link = byId("compose-link").checked;
    if (files.length === 0) throw new SealpostError("no_files");
    if (state.recipients.length === 0 && !link) {
      throw new SealpostError("no_recipient");
    }
    page.status("account.stage_sending");
    const result = await page.worker.call(
      "send_mail",
      {
        files,
        message: byId("compose-message").value,
        recipients: state.recipients.map(({ kind, id }) => ({ kind, id })),
        link,
        origin: location.origin,
      },
      { onEvent: () => page.status("account.stage_sending") },
    );
    state.sent = result;
    state.recipients = [];
    byId("compose-files").value = "";
    byId("compose-message").value = "";
    byId("compose-link").checked = false;
    render();
  }

  function reset() {
    Object.assign(state, { inbox: null, item: null, files: [], results: [] });
    Object.assign(state, { recipients: [], sent: null });
    render();
  }

  // -------------------------------------------------------------- render

  function render() {
    renderInbox();
    renderItem();
    renderCompose();
  }

  function renderInbox() {
    const own = byId("inbox-own");
    const boxes = byId("inbox-boxes");
    if (state.inbox === null) {
      own.replaceChildren();
      boxes.replaceChildren();
      return;
    }
    own.replaceChildren(...inboxItems(state.inbox.own));
    boxes.replaceChildren(
      ...state.inbox.boxes.map((box) => {
        const block = document.createElement("div");
        block.className = "box-inbox";
        block.dataset.boxId = box.id;
        const heading = document.createElement("h3");
        heading.textContent = t("account.box_inbox_heading", { name: box.name });
        const list = document.createElement("ul");
        list.className = "inbox-list";
        list.replaceChildren(...inboxItems(box.items));
        block.append(heading, list);
        return block;
      }),
    );
  }

  function inboxItems(items) {
    if (items.length === 0) {
      const empty = document.createElement("li");
      empty.className = "hint empty";
      empty.textContent = t("account.inbox_empty");
      return [empty];
    }
    return items.map((item) => inboxRow(item, () => page.run(() => open(item))));
  }

  function renderItem() {
    const item = state.item;
    if (item === null) {
      byId("item-files").replaceChildren();
      return;
    }
    byId("item-from").textContent = senderText(item.sender);
    byId("item-message-block").hidden = item.message === "";
    // Text, never markup: <pre> keeps the sender's line breaks.
    byId("item-message").textContent = item.message;
    byId("item-reply").hidden = item.replyTo === null;
    const list = byId("item-files");
    list.replaceChildren(
      ...item.files.map((file, index) => {
        const row = document.createElement("li");
        const entry = state.files[index];
        row.dataset.index = String(index);
        row.dataset.state = entry.state;
        const name = document.createElement("span");
        name.className = "name";
        name.textContent = file.name;
        const size = document.createElement("span");
        size.className = "size";
        size.textContent = formatBytes(file.size);
        const progress = document.createElement("span");
        progress.className = "file-state";
        if (entry.state === "downloading") {
          progress.textContent = t("receive.file_downloading", {
            percent: formatPercent(entry.done, file.size),
          });
        } else if (entry.state === "done") {
          progress.textContent = t("receive.file_done");
        } else if (entry.state === "failed") {
          progress.textContent = t("receive.file_failed", {
            reason: errorMessage(entry.error),
          });
        }
        const button = document.createElement("button");
        button.type = "button";
        button.className = "download button secondary";
        button.textContent = t("receive.download");
        button.disabled = entry.state === "downloading";
        button.addEventListener("click", () => download(index));
        row.append(name, " ", size, " ", progress, " ", button);
        return row;
      }),
    );
  }

  function renderCompose() {
    byId("dir-results").replaceChildren(
      ...state.results.map((entry) => directoryRow(entry, t("account.add"), choose)),
    );
    byId("compose-recipients").replaceChildren(
      ...state.recipients.map((entry) =>
        directoryRow(entry, t("account.remove"), () => {
          state.recipients = state.recipients.filter((r) => r !== entry);
          render();
        }),
      ),
    );
    const result = byId("compose-result");
    result.hidden = state.sent === null;
    const linkBox = byId("compose-link-box");
    linkBox.hidden = state.sent === null || state.sent.link === null;
    if (state.sent !== null && state.sent.link !== null) {
      const anchor = byId("compose-link-out");
      anchor.href = state.sent.link;
      anchor.textContent = state.sent.link;
    }
  }

  return { refresh, render, reset };
}

// One directory entry: name, department, fingerprint, and an action.
export function directoryRow(entry, label, action) {
  const row = document.createElement("li");
  row.className = "dir-entry";
  row.dataset.kind = entry.kind;
  row.dataset.id = entry.id;
  if (entry.handle) row.dataset.handle = entry.handle;
  const name = document.createElement("span");
  name.className = "name";
  name.textContent =
    entry.kind === "box"
      ? t("account.box_entry", { name: entry.name })
      : t("account.sender", { name: entry.name, handle: entry.handle });
  const department = document.createElement("span");
  department.className = "hint";
  department.textContent = entry.department ?? "";
  const fingerprint = document.createElement("span");
  fingerprint.className = "fingerprint";
  fingerprint.textContent = entry.fingerprint ?? "";
  row.append(name, " ", department, " ", fingerprint);
  if (action !== null) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "button secondary pick";
    button.textContent = label;
    button.addEventListener("click", () => action(entry));
    row.append(" ", button);
  }
  return row;
}
