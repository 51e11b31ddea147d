// The account area (/app): one page whose views switch without reloading,
// because the unlocked keys live only in the worker's memory. Logging in
// (or activating) unlocks the account in the worker; a reload starts a new
// worker, so the passphrase is asked again. No key and no passphrase is
// ever written to any storage. This module signs in and out and changes
// the passphrase; app-mail.js and app-boxes.js do the rest.

import { asSealpostError, SealpostError } from "../errors.js";
import { onLanguageChange, t } from "../i18n.js";
import { WorkerClient } from "../worker-client.js";
import { setupAdmin } from "./app-admin.js";
import { setupAudit } from "./app-audit.js";
import { setupBoxes } from "./app-boxes.js";
import { setupMail } from "./app-mail.js";
import { setupRecovery } from "./app-recovery.js";
import { setupRequest } from "./app-request.js";
import { activationFragment } from "./app-sheets.js";
import {
  apiJSON,
  byId,
  clearError,
  pageUrls,
  setState,
  showError,
  startLanguage,
} from "./common.js";
import { DownloadChannel } from "./download.js";

const TABS = ["inbox", "compose", "boxes", "settings", "sent", "admin"];
const STAGES = {
  keys: "account.stage_keys",
  server: "account.stage_server",
  params: "account.stage_server",
  deriving: "account.stage_deriving",
  unlocking: "account.stage_unlocking",
  fetching: "receive.stage_fetching",
  decrypting: "receive.stage_decrypting",
};

const worker = new WorkerClient();
const downloads = new DownloadChannel(worker);
const view = { name: "loading", panel: "inbox", profile: null, busy: false };

// What app-mail.js and app-boxes.js use of this page.
const page = {
  worker,
  downloads,
  get profile() {
    return view.profile;
  },
  showPanel,
  status,
  run,
  refreshProfile,
};
let mail = null;
let boxes = null;
let admin = null;
let recovery = null;
let audit = null;

async function start() {
  await startLanguage();
  worker.call("init", pageUrls()).catch((error) => showError(error));
  downloads.prepare();
  byId("login-form").addEventListener("submit", (event) => {
    event.preventDefault();
    run(login);
  });
  byId("activate-code-form").addEventListener("submit", (event) => {
    event.preventDefault();
    run(checkCode);
  });
  byId("activate-pass-form").addEventListener("submit", (event) => {
    event.preventDefault();
    run(activate);
  });
  byId("passphrase-form").addEventListener("submit", (event) => {
    event.preventDefault();
    run(changePassphrase);
  });
  byId("show-activate").addEventListener("click", () => show("activate"));
  byId("show-login").addEventListener("click", () => show("login"));
  byId("logout").addEventListener("click", () => run(logout));
  for (const button of document.querySelectorAll("button.tab")) {
    button.addEventListener("click", () => showPanel(button.dataset.tab));
  }
  mail = setupMail(page);
  boxes = setupBoxes(page);
  admin = setupAdmin(page);
  recovery = setupRecovery(page, { show, enter: () => signedIn(view.profile) });
  setupRequest(page, { show });
  audit = setupAudit(page);
  onLanguageChange(render);
  show("login");
  prefillActivation();
  // After a reload the server session may still be valid, but the keys
  // are gone with the old worker: only the handle is filled in again.
  apiJSON("/api/me")
    .then((me) => {
      const field = byId("login-handle");
      if (field.value === "") field.value = me.account.handle;
    })
    .catch(() => {
      // Not signed in: the form stays empty.
    });
}

// Run one action at a time; its failure is shown in the error area.
async function run(action) {
  if (view.busy) return;
  view.busy = true;
  clearError();
  document.body.dataset.busy = "true";
  try {
    await action();
  } catch (error) {
    const failure = asSealpostError(error);
    if (failure.code === "session_expired" && view.profile !== null) {
      view.profile = null;
      show("login");
    }
    showError(failure);
  } finally {
    view.busy = false;
    delete document.body.dataset.busy;
    status(null);
  }
}

function status(stage) {
  const element = byId("status");
  const key = stage === null ? undefined : (STAGES[stage] ?? stage);
  element.textContent = key === undefined ? "" : t(key);
  element.hidden = key === undefined;
}

const onStage = { onEvent: (event) => event.stage && status(event.stage) };

// ---------------------------------------------------------------- signing in

async function login() {
  const handle = byId("login-handle").value.trim();
  const passphrase = byId("login-passphrase").value;
  if (handle === "" || passphrase === "") throw new SealpostError("login_failed");
  const profile = await worker.call("login", { handle, passphrase }, onStage);
  byId("login-passphrase").value = "";
  await signedIn(profile);
}

// A printed sheet's QR code opens /app#activate=<handle>:<code>: the code
// fills the activation form, then leaves the address bar and the history
// at once (the fragment itself never reached the server).
function prefillActivation() {
  if (location.hash === "#request") {
    history.replaceState(null, "", `${location.pathname}${location.search}`);
    byId("show-request").click();
    return;
  }
  const found = activationFragment(location.hash);
  if (found === null) return;
  history.replaceState(null, "", `${location.pathname}${location.search}`);
  byId("activate-handle").value = found.handle;
  byId("activate-code").value = found.code;
  show("activate");
}

async function checkCode() {
  const handle = byId("activate-handle").value.trim();
  const code = byId("activate-code").value;
  const account = await worker.call("activation_start", { handle, code });
  const who = byId("activate-who");
  who.dataset.accountId = account.accountId;
  who.textContent = t("account.activate_who", {
    name: account.name,
    handle: account.handle,
  });
  byId("activate-code-form").hidden = true;
  byId("activate-pass-form").hidden = false;
  byId("activate-pass1").focus();
}

async function activate() {
  const first = byId("activate-pass1").value;
  if (first !== byId("activate-pass2").value) {
    throw new SealpostError("passphrase_mismatch");
  }
  const profile = await worker.call("activate", { passphrase: first }, onStage);
  byId("activate-pass1").value = "";
  byId("activate-pass2").value = "";
  byId("activate-code").value = "";
  view.profile = profile;
  try {
    await recovery.offer(profile);
  } catch (error) {
    // Signed in all the same; a code can be made again later.
    await signedIn(profile);
    throw error;
  }
}

async function signedIn(profile) {
  view.profile = profile;
  show("main");
  showPanel("inbox");
  await mail.refresh();
}

async function refreshProfile() {
  const profile = await worker.call("session");
  if (profile === null) throw new SealpostError("session_expired");
  view.profile = profile;
  render();
  return profile;
}

async function logout() {
  await worker.call("logout");
  view.profile = null;
  mail.reset();
  boxes.reset();
  admin.reset();
  show("login");
}

async function changePassphrase() {
  byId("pass-done").hidden = true;
  const old = byId("pass-old").value;
  const next = byId("pass-new1").value;
  if (next !== byId("pass-new2").value) throw new SealpostError("passphrase_mismatch");
  await worker.call("change_passphrase", { old, next }, onStage);
  for (const id of ["pass-old", "pass-new1", "pass-new2"]) byId(id).value = "";
  byId("pass-done").hidden = false;
}

// ---------------------------------------------------------------- views

function show(name) {
  view.name = name;
  recovery?.leave(name);
  if (name !== "activate") {
    byId("activate-code-form").hidden = false;
    byId("activate-pass-form").hidden = true;
  }
  setState(name === "main" ? "signed-in" : name);
  render();
}

function showPanel(name) {
  view.panel = name;
  document.body.dataset.panel = name;
  render();
  if (name === "boxes") run(() => boxes.refresh());
  if (name === "admin") {
    run(async () => {
      await admin.refresh();
      await audit.refreshAudit();
    });
  }
  if (name === "sent") run(() => audit.refreshSent());
}

function render() {
  byId("view-login").hidden = view.name !== "login";
  byId("view-activate").hidden = view.name !== "activate";
  byId("view-forgot").hidden = view.name !== "forgot";
  byId("view-recovery").hidden = view.name !== "recovery";
  byId("view-request").hidden = view.name !== "request";
  byId("view-main").hidden = view.name !== "main";
  if (view.profile !== null) {
    const { account, fingerprint } = view.profile;
    byId("me-name").textContent = t("account.signed_in_as", {
      name: account.name,
      handle: account.handle,
    });
    byId("me-fingerprint").textContent = fingerprint;
  }
  const panels = [...TABS, "item"];
  for (const name of panels) byId(`panel-${name}`).hidden = view.panel !== name;
  for (const button of document.querySelectorAll("button.tab")) {
    button.setAttribute("aria-pressed", String(button.dataset.tab === view.panel));
  }
  mail?.render();
  boxes?.render();
  admin?.render();
}

start().catch((error) => {
  setState("error");
  showError(error);
});
