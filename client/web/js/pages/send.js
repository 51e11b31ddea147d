// Send page: pick or drop files, write a message, choose expiry and the
// download limit, then hand everything to the worker, which encrypts and
// uploads. This page only shows things; it holds no crypto.

import qrcode from "../../vendor/qrcode.mjs";
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

// Expiry choices offered when the server allows them (seconds); the
// server's minimum, default and maximum are always offered too.
const EXPIRY_PRESETS = [3600, 6 * 3600, 86400, 3 * 86400, 7 * 86400, 30 * 86400];
// QR code: pixels per module and quiet zone in modules (the standard's 4).
const QR_CELL = 4;
const QR_MARGIN = 4;

const worker = new WorkerClient();
const files = [];
let config = null;
let runtime = { state: "loading", error: null };
let runtimeReady = null;
let progress = null;
let result = null;
let selectionErrorShown = false;
let qrText = null;

// ---------------------------------------------------------------- start

async function start() {
  // Wired before anything is awaited: files picked while the page is still
  // loading must not be lost.
  wireForm();
  await startLanguage();
  onLanguageChange(render);
  render();

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
  const input = byId("files");
  const take = () => {
    addFiles(input.files);
    // Cleared so that the next pass adds to the list (C10) and picking the
    // same file again still fires "change".
    input.value = "";
  };
  input.addEventListener("change", take);
  // A browser may restore a selection (back button) before this runs.
  if (input.files.length > 0) take();

  const drop = byId("drop");
  drop.addEventListener("dragover", (event) => {
    event.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    addFiles(event.dataTransfer?.files ?? []);
  });

  byId("send-form").addEventListener("submit", (event) => {
    event.preventDefault();
    send();
  });
  byId("copy-link").addEventListener("click", copyLink);
  byId("send-another").addEventListener("click", () => location.assign("/"));
}

function addFiles(list) {
  for (const file of list) {
    const duplicate = files.some(
      (known) =>
        known.name === file.name &&
        known.size === file.size &&
        known.lastModified === file.lastModified,
    );
    if (!duplicate) files.push(file);
  }
  checkSelection();
  render();
}

function removeFile(index) {
  files.splice(index, 1);
  checkSelection();
  render();
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
  if (files.length > config.max_files) {
    return new SealpostError("too_many_files", { limit: config.max_files });
  }
  let total = 0;
  for (const file of files) {
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
    (files.length === 0 ? new SealpostError("no_files") : null) ??
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
        files: [...files],
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

  byId("send").disabled = config === null || busy || selectionProblem() !== null;
  byId("send-form").hidden = state === "done";
  renderProgress();
  renderResult();
}

function renderSelection(busy) {
  const list = byId("selected");
  list.replaceChildren();
  let total = 0;
  files.forEach((file, index) => {
    total += file.size;
    const item = document.createElement("li");
    const name = document.createElement("span");
    name.className = "name";
    // Names are shown as text, never parsed as markup (C04).
    name.textContent = file.name;
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
  byId("result-expiry").textContent = t("send.expires_at", {
    date: formatDate(result.expiresAt),
  });
  const status = byId("copy-status");
  status.textContent = status.dataset.i18n ? t(status.dataset.i18n) : "";
  drawQr(result.link);
}

function drawQr(text) {
  const canvas = byId("qr");
  if (qrText === text) return;
  const code = qrcode(0, "M");
  code.addData(text);
  code.make();
  const modules = code.getModuleCount();
  const size = (modules + 2 * QR_MARGIN) * QR_CELL;
  canvas.width = size;
  canvas.height = size;
  const context = canvas.getContext("2d");
  context.fillStyle = "#ffffff";
  context.fillRect(0, 0, size, size);
  context.fillStyle = "#000000";
  for (let row = 0; row < modules; row += 1) {
    for (let col = 0; col < modules; col += 1) {
      if (code.isDark(row, col)) {
        context.fillRect(
          (col + QR_MARGIN) * QR_CELL,
          (row + QR_MARGIN) * QR_CELL,
          QR_CELL,
          QR_CELL,
        );
      }
    }
  }
  qrText = text;
}

start().catch((error) => {
  setState("error");
  showError(error);
});
