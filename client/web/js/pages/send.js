// Send page: pick or drop files and folders, write a message, choose expiry,
// the download limit and optionally a second-channel code, then hand
// everything to the worker, which encrypts and uploads. This page only shows
// things; it holds no crypto (codes are made and checked in the worker).

import { SealpostError } from "../errors.js";
import {
  formatBytes,
  formatDate,
  formatDuration,
  formatPercent,
  onLanguageChange,
  t,
} from "../i18n.js";
import { WorkerClient } from "../worker-client.js";
import {
  apiJSON,
  byId,
  clearError,
  pageUrls,
  setState,
  showError,
  startLanguage,
} from "./common.js";
import { drawQr } from "./qr.js";

// Expiry choices offered when the server allows them (seconds); the
// server's minimum, default and maximum are always offered too.
const EXPIRY_PRESETS = [3600, 6 * 3600, 86400, 3 * 86400, 7 * 86400, 30 * 86400];

const worker = new WorkerClient();
// {file, path}: path is relative ("folder/sub/name") for files picked in a
// folder, the plain name otherwise.
const files = [];
// Folders with nothing in them, kept so the recipient gets them too.
const dirs = [];
// A path pyodide_crypto refuses, as a SealpostError, or null.
let pathError = null;
let pathCheck = 0;
let codeRequest = 0;
let config = null;
let runtime = { state: "loading", error: null };
let runtimeReady = null;
let progress = null;
let result = null;
let selectionErrorShown = false;
let qrText = null;

// ---------------------------------------------------------------- start

async function start() {
  // Started first (a call, nothing awaited) so that anything the form does
  // early (checking picked paths, making a code) can wait on it.
  runtimeReady = worker.call("init", pageUrls()).then(
    () => {
      runtime = { state: "ready", error: null };
      render();
    },
    (error) => {
      runtime = { state: "failed", error };
      render();
      throw error;
    },
  );
  // Shown through runtime.state; sending awaits it again and reports it.
  runtimeReady.catch(() => {});
  // Wired before anything is awaited: files picked while the page is still
  // loading must not be lost.
  wireForm();
  await startLanguage();
  onLanguageChange(render);
  render();

  try {
    config = await apiJSON("/api/config");
  } catch (error) {
    setState("error");
    showError(error);
    return;
  }
  fillSettings();
  setState("ready");
  checkSelection();
  render();
}

function wireForm() {
  for (const id of ["files", "folder"]) {
    const input = byId(id);
    const take = () => {
      addFiles([...input.files].map((file) => ({ file, path: relativePath(file) })));
      // Cleared so that the next pass adds to the list (C10) and picking the
      // same file again still fires "change".
      input.value = "";
    };
    input.addEventListener("change", take);
    // A browser may restore a selection (back button) before this runs.
    if (input.files.length > 0) take();
  }

  const drop = byId("drop");
  drop.addEventListener("dragover", (event) => {
    event.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    // Entries must be taken now: the list is emptied when the event ends.
    const transfer = event.dataTransfer;
    const entries = [...(transfer?.items ?? [])]
      .filter((item) => item.kind === "file")
      .map((item) => item.webkitGetAsEntry?.() ?? null);
    if (entries.length === 0 || entries.includes(null)) {
      addFiles([...(transfer?.files ?? [])].map((file) => ({ file, path: file.name })));
      return;
    }
    readEntries(entries).then(
      ({ found, empty }) => addFiles(found, empty),
      (error) => showError(error),
    );
  });

  const useCode = byId("use-code");
  useCode.addEventListener("change", () => {
    if (useCode.checked && byId("code").value.trim() === "") newCode();
    render();
  });
  byId("generate-code").addEventListener("click", newCode);

  byId("send-form").addEventListener("submit", (event) => {
    event.preventDefault();
    send();
  });
  byId("copy-link").addEventListener("click", copyLink);
  byId("send-another").addEventListener("click", () => location.assign("/"));
}

// The path a picked file has inside the folder it was picked with.
function relativePath(file) {
  return file.webkitRelativePath || file.name;
}

// Every file under dropped folders, with its path, and the empty folders.
// readEntries answers in batches (100 in Chromium) until it answers none.
async function readEntries(entries) {
  const found = [];
  const empty = [];
  const visit = async (entry) => {
    const path = entry.fullPath.replace(/^\/+/, "");
    if (entry.isFile) {
      const file = await new Promise((resolve, reject) =>
        entry.file(resolve, reject),
      ).catch(() => {
        throw new SealpostError("file_unreadable", { name: path });
      });
      found.push({ file, path });
      return;
    }
    if (!entry.isDirectory) return;
    const reader = entry.createReader();
    let count = 0;
    for (;;) {
      const batch = await new Promise((resolve, reject) =>
        reader.readEntries(resolve, reject),
      ).catch(() => {
        throw new SealpostError("file_unreadable", { name: path });
      });
      if (batch.length === 0) break;
      count += batch.length;
      for (const child of batch) await visit(child);
    }
    if (count === 0) empty.push(path);
  };
  for (const entry of entries) await visit(entry);
  return { found, empty };
}

function addFiles(picked, emptyDirs = []) {
  for (const item of picked) {
    const duplicate = files.some(
      (known) =>
        known.path === item.path &&
        known.file.size === item.file.size &&
        known.file.lastModified === item.file.lastModified,
    );
    if (!duplicate) files.push(item);
  }
  for (const dir of emptyDirs) {
    if (!dirs.includes(dir)) dirs.push(dir);
  }
  selectionChanged();
}

function removeFile(index) {
  files.splice(index, 1);
  selectionChanged();
}

function removeDir(index) {
  dirs.splice(index, 1);
  selectionChanged();
}

function selectionChanged() {
  checkSelection();
  render();
  checkPaths();
}

// Ask pyodide_crypto which path it would refuse, once the runtime is up;
// only the answer for the latest selection counts.
async function checkPaths() {
  pathCheck += 1;
  const ticket = pathCheck;
  const paths = files.map((item) => item.path);
  const folders = [...dirs];
  let refused = null;
  try {
    await runtimeReady;
    refused = await worker.call("check_paths", { paths, dirs: folders });
  } catch {
    // No runtime: sending reports that; the worker checks again at send.
    return;
  }
  if (ticket !== pathCheck) return;
  pathError =
    refused === null ? null : new SealpostError("path_invalid", { name: refused.path });
  checkSelection();
  render();
}

// A fresh code from the worker into #code (the person may still edit it).
async function newCode() {
  codeRequest += 1;
  const ticket = codeRequest;
  const field = byId("code");
  field.value = "";
  try {
    await runtimeReady;
    const code = await worker.call("generate_code");
    if (ticket === codeRequest && field.value === "") field.value = code;
  } catch (error) {
    showError(error);
  }
}

// ---------------------------------------------------------------- settings

function fillSettings() {
  const expiry = byId("expiry");
  const choices = new Set([
    config.expiry_min_seconds,
    config.expiry_default_seconds,
    config.expiry_max_seconds,
  ]);
  for (const seconds of EXPIRY_PRESETS) {
    if (seconds >= config.expiry_min_seconds && seconds <= config.expiry_max_seconds) {
      choices.add(seconds);
    }
  }
  expiry.replaceChildren();
  for (const seconds of [...choices].sort((a, b) => a - b)) {
    const option = document.createElement("option");
    option.value = String(seconds);
    option.selected = seconds === config.expiry_default_seconds;
    expiry.append(option);
  }

  const downloads = byId("downloads");
  downloads.min = String(config.downloads_min);
  downloads.max = String(config.downloads_max);
  downloads.value = String(config.downloads_default);
}

// The first limit the selection breaks, as an error, or null (C07).
function selectionProblem() {
  if (config === null) return null;
  if (pathError !== null) return pathError;
  if (files.length > config.max_files) {
    return new SealpostError("too_many_files", { limit: config.max_files });
  }
  let total = 0;
  for (const { file } of files) {
    if (file.size > config.max_file_bytes) {
      return new SealpostError("file_too_large", {
        name: file.name,
        size: file.size,
        limit: config.max_file_bytes,
      });
    }
    total += file.size;
  }
  if (total > config.max_share_bytes) {
    return new SealpostError("share_too_large", {
      size: total,
      limit: config.max_share_bytes,
    });
  }
  return null;
}

// Says what is wrong with the selection as soon as it is made, and takes
// the message back once the selection is fixed.
function checkSelection() {
  const problem = selectionProblem();
  if (problem !== null) {
    showError(problem);
    selectionErrorShown = true;
  } else if (selectionErrorShown) {
    clearError();
    selectionErrorShown = false;
  }
}

function settingsProblem(expiresIn, maxDownloads) {
  if (
    !Number.isInteger(maxDownloads) ||
    maxDownloads < config.downloads_min ||
    maxDownloads > config.downloads_max
  ) {
    return new SealpostError("downloads_invalid", {
      min: config.downloads_min,
      max: config.downloads_max,
    });
  }
  if (
    !Number.isInteger(expiresIn) ||
    expiresIn < config.expiry_min_seconds ||
    expiresIn > config.expiry_max_seconds
  ) {
    return new SealpostError("expiry_invalid");
  }
  return null;
}

// ---------------------------------------------------------------- sending

async function send() {
  if (config === null || document.body.dataset.state === "sending") return;
  clearError();
  selectionErrorShown = false;
  const expiresIn = Number(byId("expiry").value);
  const maxDownloads = Number(byId("downloads").value);
  const problem =
    (files.length === 0 && dirs.length === 0 ? new SealpostError("no_files") : null) ??
    selectionProblem() ??
    settingsProblem(expiresIn, maxDownloads);
  if (problem !== null) {
    showError(problem);
    return;
  }

  setState("sending");
  progress = { encrypted: 0, encryptTotal: 0, uploaded: 0, uploadTotal: 0 };
  render();
  try {
    await runtimeReady;
    result = await worker.call(
      "send",
      {
        files: files.map((item) => item.file),
        paths: files.map((item) => item.path),
        dirs: [...dirs],
        code: byId("use-code").checked ? byId("code").value : null,
        message: byId("message").value,
        expiresIn,
        maxDownloads,
        origin: location.origin,
      },
      { onEvent: onSendEvent },
    );
  } catch (error) {
    // The form stays as it was, so the person can fix it and send again.
    setState("error");
    progress = null;
    showError(error);
    render();
    return;
  }
  setState("done");
  render();
}

function onSendEvent(event) {
  if (event.type !== "progress") return;
  progress = event;
  renderProgress();
}

async function copyLink() {
  const status = byId("copy-status");
  try {
    await navigator.clipboard.writeText(result.link);
    status.dataset.i18n = "send.copied";
  } catch {
    // Clipboard refused (permissions, insecure context): select the link
    // so that the person can copy it by hand.
    const range = document.createRange();
    range.selectNodeContents(byId("result-link"));
    getSelection().removeAllRanges();
    getSelection().addRange(range);
    status.dataset.i18n = "send.copy_by_hand";
  }
  status.textContent = t(status.dataset.i18n);
}

// ---------------------------------------------------------------- render

function render() {
  const state = document.body.dataset.state;
  const busy = state === "sending" || state === "done";

  const status = byId("runtime-status");
  const statusKey = {
    loading: "send.runtime_loading",
    ready: "send.runtime_ready",
    failed: "send.runtime_failed",
  }[runtime.state];
  status.textContent = t(statusKey);
  status.dataset.runtime = runtime.state;

  renderSelection(busy);
  renderExpiryLabels();
  byId("code-fields").hidden = !byId("use-code").checked;
  for (const id of ["use-code", "code", "generate-code"]) byId(id).disabled = busy;

  byId("send").disabled = config === null || busy || selectionProblem() !== null;
  byId("send-form").hidden = state === "done";
  renderProgress();
  renderResult();
}

function renderSelection(busy) {
  const list = byId("selected");
  list.replaceChildren();
  let total = 0;
  files.forEach(({ file, path }, index) => {
    total += file.size;
    const item = document.createElement("li");
    const name = document.createElement("span");
    name.className = "name";
    // Names are shown as text, never parsed as markup (C04).
    name.textContent = path;
    const size = document.createElement("span");
    size.className = "size";
    size.textContent = formatBytes(file.size);
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "remove link-button";
    remove.textContent = t("send.remove");
    remove.disabled = busy;
    remove.addEventListener("click", () => removeFile(index));
    item.append(name, " ", size, " ", remove);
    list.append(item);
  });
  dirs.forEach((path, index) => {
    const item = document.createElement("li");
    item.className = "folder";
    const name = document.createElement("span");
    name.className = "name";
    name.textContent = path;
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "remove link-button";
    remove.textContent = t("send.remove");
    remove.disabled = busy;
    remove.addEventListener("click", () => removeDir(index));
    item.append(name, " ", remove);
    list.append(item);
  });
  byId("totals").textContent =
    files.length === 0
      ? t("send.no_files_yet")
      : t("send.totals", { count: files.length, size: formatBytes(total) });
}

function renderExpiryLabels() {
  for (const option of byId("expiry").options) {
    option.textContent = formatDuration(Number(option.value));
  }
}

function renderProgress() {
  const box = byId("progress");
  if (progress === null) {
    box.hidden = true;
    return;
  }
  box.hidden = false;
  const parts = [
    ["encrypt", progress.encrypted, progress.encryptTotal],
    ["upload", progress.uploaded, progress.uploadTotal],
  ];
  for (const [name, done, total] of parts) {
    // Whole percents: an empty share (0 of 0 bytes) is complete, never NaN.
    const percent = total > 0 ? Math.floor((100 * Math.min(done, total)) / total) : 0;
    const finished = document.body.dataset.state === "done";
    const value = finished ? 100 : percent;
    const bar = byId(`progress-${name}`);
    bar.value = value;
    bar.setAttribute("value", String(value));
    byId(`progress-${name}-text`).textContent = finished
      ? formatPercent(1, 1)
      : formatPercent(done, total > 0 ? total : 1);
  }
}

function renderResult() {
  const section = byId("result");
  if (result === null) {
    section.hidden = true;
    return;
  }
  section.hidden = false;
  const link = byId("result-link");
  link.href = result.link;
  link.textContent = result.link;
  const manage = byId("manage-link");
  manage.href = result.manageLink;
  manage.textContent = result.manageLink;
  const hint = byId("result-hint");
  hint.dataset.i18n = result.code ? "send.result_hint_code" : "send.result_hint";
  hint.textContent = t(hint.dataset.i18n);
  // The code is shown apart from the link, to be given another way.
  byId("result-code-block").hidden = !result.code;
  byId("result-code").textContent = result.code ?? "";
  byId("result-expiry").textContent = t("send.expires_at", {
    date: formatDate(result.expiresAt),
  });
  const status = byId("copy-status");
  status.textContent = status.dataset.i18n ? t(status.dataset.i18n) : "";
  showQr(result.link);
}

function showQr(text) {
  if (qrText === text) return;
  drawQr(byId("qr"), text);
  qrText = text;
}

start().catch((error) => {
  setState("error");
  showError(error);
});
