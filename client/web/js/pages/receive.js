// Receive page (/s/<id>#<link secret>): opens the share in the worker (with
// the second-channel code first, for a code share), shows the message and
// the files, and streams each download, or all of them as one zip, to disk
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
  // "Download all" (one zip): the same shape, plus its total size.
  zip: { state: "idle", done: 0, total: 0, error: null },
  // Wrong codes the server still accepts, for a code share.
  attemptsLeft: null,
  checkingCode: false,
};
const worker = new WorkerClient();
const downloads = new DownloadChannel(worker);

async function start() {
  byId("download-all").addEventListener("click", downloadAll);
  byId("code-form").addEventListener("submit", (event) => {
    event.preventDefault();
    unlock();
  });
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
  if (share.needCode) {
    view.attemptsLeft = share.attemptsLeft;
    view.stage = "need-code";
    setState("need-code");
    render();
    byId("code-input").focus();
    return;
  }
  showShare(share);
}

function showShare(share) {
  view.share = share;
  view.files = share.files.map(() => ({ state: "idle", done: 0, error: null }));
  view.stage = "ready";
  setState("ready");
  render();
  // "Reply securely" when the share invites an answer (reply-form.js).
  import("./reply-form.js")
    .then(({ setupReply }) => setupReply(worker, byId("reply")))
    .catch(showError);
}

// Check the typed code: the worker derives from it once, shows it to the
// server, and opens the share. The code goes to the worker exactly as
// typed; which spellings count as the same code is decided in Python.
async function unlock() {
  if (view.checkingCode || view.attemptsLeft === 0) return;
  view.checkingCode = true;
  clearError();
  render();
  let share;
  try {
    share = await worker.call(
      "unlock",
      { code: byId("code-input").value },
      { onEvent: (event) => stage(event.stage) },
    );
  } catch (error) {
    const failure = asSealpostError(error);
    view.checkingCode = false;
    if (failure.code === "wrong_code" || failure.code === "code_invalid") {
      if (Number.isInteger(failure.params.attemptsLeft)) {
        view.attemptsLeft = failure.params.attemptsLeft;
      }
      view.stage = "need-code";
      showError(failure);
      render();
      byId("code-input").select();
    } else {
      fail(failure);
    }
    return;
  }
  view.checkingCode = false;
  showShare(share);
}

function stage(name) {
  if (typeof name === "string") {
    view.stage = name;
    render();
  }
}

function fail(error) {
  view.checkingCode = false;
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

// Every file with its path, and the empty folders, as one zip made while
// decrypting (see the worker): one download in the browser, one claim.
async function downloadAll() {
  const zip = view.zip;
  if (zip.state === "downloading") return;
  Object.assign(zip, { state: "downloading", done: 0, total: 0, error: null });
  clearError();
  render();
  try {
    await downloads.saveAll(zipName(), (event) => {
      if (event.type === "progress") {
        zip.done = event.done;
        zip.total = event.total;
        renderZip();
      }
    });
    zip.state = "done";
  } catch (error) {
    const failure = asSealpostError(error);
    zip.state = failure.code === "cancelled" ? "idle" : "failed";
    zip.error = failure.code === "cancelled" ? null : failure;
    if (zip.error !== null) showError(zip.error);
  }
  render();
}

// The zip of one folder is named after it ("exam.zip"); anything else gets
// the generic name. Paths are already neutralised, so the name is a plain
// segment (the service worker still encodes it for the header).
function zipName() {
  const paths = [...view.share.files.map((file) => file.name), ...view.share.dirs];
  const tops = new Set(paths.map((path) => path.split("/")[0]));
  const [top] = tops;
  const nested = paths.every((path) => path.includes("/"));
  return tops.size === 1 && nested ? `${top}.zip` : t("receive.zip_name");
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
    checking: "receive.stage_checking",
  };
  const key = statusKeys[view.stage];
  status.textContent = key === undefined ? "" : t(key);
  status.hidden = key === undefined;

  renderCodeForm();
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
  if (list.children.length !== view.share.files.length + view.share.dirs.length) {
    // Empty folders are listed too: the zip recreates them (no button, no
    // data-index: they are not files).
    list.replaceChildren(
      ...view.share.files.map(fileItem),
      ...view.share.dirs.map(folderItem),
    );
  }
  view.share.files.forEach((_, index) => renderFile(index));
  // One file alone needs no zip, unless it sits in a folder.
  const { files, dirs } = view.share;
  byId("download-all").hidden =
    files.length < 2 && dirs.length === 0 && !files.some((f) => f.name.includes("/"));
  renderZip();
}

function renderCodeForm() {
  const form = byId("code-form");
  form.hidden = view.share !== null || view.attemptsLeft === null;
  if (form.hidden) return;
  const left = view.attemptsLeft;
  const attempts = byId("attempts");
  attempts.dataset.left = String(left);
  const plural = new Intl.PluralRules(document.documentElement.lang).select(left);
  attempts.textContent = t(
    plural === "one" ? "receive.attempts_one" : "receive.attempts_other",
    { count: left },
  );
  const closed = view.checkingCode || left === 0;
  byId("code-submit").disabled = closed;
  byId("code-input").disabled = closed;
}

function renderZip() {
  const zip = view.zip;
  byId("download-all").disabled = zip.state === "downloading";
  const state = byId("download-all-state");
  state.dataset.state = zip.state;
  let text = "";
  if (zip.state === "downloading") {
    text = t("receive.file_downloading", {
      percent: formatPercent(zip.done, zip.total),
    });
  } else if (zip.state === "done") {
    text = t("receive.file_done");
  } else if (zip.state === "failed") {
    text = t("receive.file_failed", { reason: errorMessage(zip.error) });
  }
  state.textContent = text === "" ? "" : t("receive.zip_state", { state: text });
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

function folderItem(path) {
  const item = document.createElement("li");
  item.className = "folder";
  const name = document.createElement("span");
  name.className = "name";
  name.textContent = path;
  const note = document.createElement("span");
  note.className = "file-state";
  note.dataset.i18n = "receive.empty_folder";
  note.textContent = t("receive.empty_folder");
  item.append(name, " ", note);
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
  button.disabled = entry.state === "downloading";
}

start().catch((error) => fail(asSealpostError(error ?? new SealpostError("internal"))));
