// Receive page (/s/<id>#<link secret>): opens the share in the worker,
// shows the message and the files, and streams each download to disk
// through the service worker. Nothing is claimed (counted) until a person
// clicks a download button (C06).

// The link secret leaves the address bar and the history entry before the
// page makes any request of its own; the imports below wait until then.
const fragment = location.hash.replace(/^#/, "");
if (location.href.includes("#")) {
  history.replaceState(history.state, "", location.pathname + location.search);
}

const [
  { SealpostError, asSealpostError },
  { formatBytes, formatDate, formatPercent, onLanguageChange, t },
  { WorkerClient },
  { DownloadChannel },
  common,
] = await Promise.all([
  import("../errors.js"),
  import("../i18n.js"),
  import("../worker-client.js"),
  import("./download.js"),
  import("./common.js"),
]);
const { byId, clearError, errorMessage, pageUrls, pathId, setState, showError } =
  common;

// What the page knows, kept so a language switch can re-render it all.
const view = {
  stage: "loading",
  share: null,
  // Per file: {state: idle|downloading|done|failed, done, error}
  files: [],
};
const worker = new WorkerClient();
const downloads = new DownloadChannel(worker);
let busy = false;

async function start() {
  byId("download-all").addEventListener("click", downloadAll);
  await common.startLanguage();
  onLanguageChange(render);
  render();

  worker.call("init", pageUrls()).catch(() => {
    // Reported by "open" below, which waits for the same runtime.
  });
  downloads.prepare();
  let share;
  try {
    share = await worker.call(
      "open",
      { id: pathId(), fragment },
      { onEvent: (event) => stage(event.stage) },
    );
  } catch (error) {
    fail(asSealpostError(error));
    return;
  }
  view.share = share;
  view.files = share.files.map(() => ({ state: "idle", done: 0, error: null }));
  view.stage = "ready";
  setState("ready");
  render();
}

function stage(name) {
  if (typeof name === "string") {
    view.stage = name;
    render();
  }
}

function fail(error) {
  const states = { bad_link: "bad-link", unavailable: "unavailable" };
  view.stage = states[error.code] ?? "error";
  setState(view.stage);
  showError(error);
  render();
}

// ---------------------------------------------------------------- downloads

async function downloadFile(index) {
  const entry = view.files[index];
  if (entry.state === "downloading") return;
  Object.assign(entry, { state: "downloading", done: 0, error: null });
  clearError();
  render();
  try {
    await downloads.save(index, view.share.files[index], (event) => {
      if (event.type === "progress") {
        entry.done = event.done;
        renderFile(index);
      }
    });
    entry.state = "done";
  } catch (error) {
    const failure = asSealpostError(error);
    // The person cancelled the browser's download: nothing to report.
    entry.state = failure.code === "cancelled" ? "idle" : "failed";
    entry.error = failure.code === "cancelled" ? null : failure;
    if (entry.error !== null) showError(entry.error);
  }
  render();
}

async function downloadAll() {
  if (busy) return;
  busy = true;
  render();
  try {
    // One at a time: memory stays bounded and the browser sees one download
    // start after the other.
    for (let index = 0; index < view.files.length; index += 1) {
      if (view.files[index].state !== "done") await downloadFile(index);
      if (view.files[index].error?.code === "unavailable") break;
    }
  } finally {
    busy = false;
    render();
  }
}

// ---------------------------------------------------------------- render

function render() {
  const status = byId("status");
  const statusKeys = {
    loading: "receive.stage_loading",
    fetching: "receive.stage_fetching",
    runtime: "receive.stage_runtime",
    decrypting: "receive.stage_decrypting",
    ready: "receive.stage_ready",
  };
  const key = statusKeys[view.stage];
  status.textContent = key === undefined ? "" : t(key);
  status.hidden = key === undefined;

  const section = byId("share");
  if (view.share === null) {
    section.hidden = true;
    byId("file-list").replaceChildren();
    return;
  }
  section.hidden = false;
  byId("message-block").hidden = view.share.message === "";
  // Text, never markup (C04); <pre> keeps tabs and line breaks.
  byId("message").textContent = view.share.message;
  byId("expires").textContent = t("receive.expires_at", {
    date: formatDate(view.share.expiresAt),
  });

  const list = byId("file-list");
  if (list.children.length !== view.share.files.length) {
    list.replaceChildren(...view.share.files.map(fileItem));
  }
  view.share.files.forEach((_, index) => renderFile(index));
  byId("download-all").hidden = view.share.files.length < 2;
  byId("download-all").disabled =
    busy || view.files.every((entry) => entry.state === "done");
}

function fileItem(file, index) {
  const item = document.createElement("li");
  item.dataset.index = String(index);
  const name = document.createElement("span");
  name.className = "name";
  name.textContent = file.name;
  const size = document.createElement("span");
  size.className = "size";
  const state = document.createElement("span");
  state.className = "file-state";
  const button = document.createElement("button");
  button.type = "button";
  button.className = "download button secondary";
  button.addEventListener("click", () => downloadFile(index));
  item.append(name, " ", size, " ", state, " ", button);
  return item;
}

function renderFile(index) {
  const item = byId("file-list").querySelector(`li[data-index="${index}"]`);
  if (item === null) return;
  const file = view.share.files[index];
  const entry = view.files[index];
  item.dataset.state = entry.state;
  item.querySelector(".size").textContent = formatBytes(file.size);
  const state = item.querySelector(".file-state");
  if (entry.state === "downloading") {
    state.textContent = t("receive.file_downloading", {
      percent: formatPercent(entry.done, file.size),
    });
  } else if (entry.state === "done") {
    state.textContent = t("receive.file_done");
  } else if (entry.state === "failed") {
    state.textContent = t("receive.file_failed", { reason: errorMessage(entry.error) });
  } else {
    state.textContent = "";
  }
  const button = item.querySelector("button.download");
  button.textContent = t(entry.state === "done" ? "receive.again" : "receive.download");
  button.disabled = entry.state === "downloading" || (busy && entry.state !== "idle");
}

start().catch((error) => fail(asSealpostError(error ?? new SealpostError("internal"))));
