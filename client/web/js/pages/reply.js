// A depositor's reply page (/r/<id>#<token>.<private key>): lists the
// answers the department sent to this reply box and opens them with the
// private key, which only this link holds (the server never saw it).

// The secrets leave the address bar before any request of the page.
const fragment = location.hash.replace(/^#/, "");
if (location.href.includes("#")) {
  history.replaceState(history.state, "", location.pathname + location.search);
}

const [
  { asSealpostError },
  { formatBytes, t },
  { WorkerClient },
  { DownloadChannel },
  common,
  { inboxRow, senderText },
] = await Promise.all([
  import("../errors.js"),
  import("../i18n.js"),
  import("../worker-client.js"),
  import("./download.js"),
  import("./common.js"),
  import("./inbox-row.js"),
]);
const { byId, clearError, pageUrls, pathId, setState, showError } = common;

const worker = new WorkerClient();
const downloads = new DownloadChannel(worker);
let busy = false;

async function start() {
  await common.startLanguage();
  worker.call("init", pageUrls()).catch(() => {
    // Reported by "reply_box_open", which waits for the same runtime.
  });
  downloads.prepare();
  byId("replies-refresh").addEventListener("click", () => run(list));
  await run(list);
}

async function run(action) {
  if (busy) return;
  busy = true;
  document.body.dataset.busy = "true";
  clearError();
  try {
    await action();
  } catch (error) {
    showError(asSealpostError(error));
    if (document.body.dataset.state === "loading") setState("error");
  } finally {
    busy = false;
    delete document.body.dataset.busy;
  }
}

async function list() {
  const items = await worker.call("reply_box_open", { id: pathId(), fragment });
  const rows = items.map((item) =>
    inboxRow(item, () => run(() => open(item)), { readMark: false }),
  );
  if (rows.length === 0) {
    const empty = document.createElement("li");
    empty.className = "hint empty";
    empty.textContent = t("reply.none_yet");
    rows.push(empty);
  }
  byId("replies").replaceChildren(...rows);
  setState("ready");
}

async function open(item) {
  const share = await worker.call("reply_item_open", { shareId: item.share_id });
  byId("reply-from").textContent = senderText(item.sender);
  byId("reply-message-block").hidden = share.message === "";
  byId("reply-message").textContent = share.message;
  byId("reply-files").replaceChildren(
    ...share.files.map((file, index) => {
      const row = document.createElement("li");
      row.dataset.index = String(index);
      const name = document.createElement("span");
      name.className = "name";
      name.textContent = file.name;
      const button = document.createElement("button");
      button.type = "button";
      button.className = "download button secondary";
      button.textContent = t("receive.download");
      button.addEventListener("click", () =>
        downloads.save(index, file, () => {}).catch((error) => showError(error)),
      );
      row.append(name, " ", formatBytes(file.size), " ", button);
      return row;
    }),
  );
  byId("reply-item").hidden = false;
  setState("open");
}

start().catch((error) => {
  setState("error");
  showError(asSealpostError(error));
});
