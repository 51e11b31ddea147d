// Deposit page (/b/<slug>#<fingerprint>): anyone, without an account,
// encrypts files and a message in this browser to a departmental box's
// public key. The fingerprint in the link is compared in the worker with the
// key the server serves; a mismatch blocks the page (a substituted key).
// A depositor may ask for a reply link: its private key exists only in
// that link's fragment.

// The fingerprint leaves the address bar before any request of the page.
const fragment = location.hash.replace(/^#/, "");
if (location.href.includes("#")) {
  history.replaceState(history.state, "", location.pathname + location.search);
}

const [{ asSealpostError, SealpostError }, { t }, { WorkerClient }, common] =
  await Promise.all([
    import("../errors.js"),
    import("../i18n.js"),
    import("../worker-client.js"),
    import("./common.js"),
  ]);
const { byId, clearError, pageUrls, pathId, setState, showError } = common;

const worker = new WorkerClient();
let busy = false;
// Another deposit link pasted over this one changes only the fragment: the
// page starts again so that the new fingerprint is the one checked.
window.addEventListener("hashchange", () => location.reload());

async function start() {
  await common.startLanguage();
  worker.call("init", pageUrls()).catch(() => {
    // Reported by "deposit_open", which waits for the same runtime.
  });
  byId("deposit-form").addEventListener("submit", (event) => {
    event.preventDefault();
    deposit();
  });
  byId("deposit-again").addEventListener("click", () => {
    byId("deposit-result").hidden = true;
    byId("deposit-form").hidden = false;
    setState("ready");
  });

  let box;
  try {
    box = await worker.call("deposit_open", { slug: pathId(), fragment });
  } catch (error) {
    setState("error");
    showError(error);
    return;
  }
  byId("box-name").textContent = box.name;
  byId("box-department").textContent = box.department;
  byId("box-fingerprint").textContent = box.fingerprint;
  if (box.matches === false) {
    // Blocking: no form at all under a key the link does not name.
    setState("mismatch");
    showError(new SealpostError("fingerprint_mismatch"));
    return;
  }
  byId("fingerprint-unchecked").hidden = box.matches === true;
  byId("deposit-form").hidden = false;
  setState("ready");
}

async function deposit() {
  if (busy) return;
  const files = [...byId("deposit-files").files];
  clearError();
  if (files.length === 0) {
    showError(new SealpostError("no_files"));
    return;
  }
  busy = true;
  setState("sending");
  byId("deposit-send").disabled = true;
  const status = byId("status");
  status.textContent = t("account.stage_sending");
  try {
    const result = await worker.call("deposit_send", {
      files,
      message: byId("deposit-message").value,
      withReply: byId("deposit-reply").checked,
      origin: location.origin,
    });
    byId("deposit-files").value = "";
    byId("deposit-message").value = "";
    byId("deposit-form").hidden = true;
    byId("deposit-result").hidden = false;
    byId("reply-link-block").hidden = result.replyLink === null;
    if (result.replyLink !== null) {
      const anchor = byId("reply-link");
      anchor.href = result.replyLink;
      anchor.textContent = result.replyLink;
    }
    setState("sent");
  } catch (error) {
    setState("ready");
    showError(asSealpostError(error));
  } finally {
    busy = false;
    status.textContent = "";
    byId("deposit-send").disabled = false;
  }
}

start().catch((error) => {
  setState("error");
  showError(asSealpostError(error));
});
