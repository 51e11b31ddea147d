// Recovery codes in /app: the code shown once right after activation (the
// person confirms they kept it, and may print it), and the "forgot
// passphrase" view: handle + recovery code → a new passphrase. Every
// derivation and key happens in the worker (recovery-ops.js).

import { SealpostError } from "../errors.js";
import { t } from "../i18n.js";
import { byId } from "./common.js";

export function setupRecovery(page, { show, enter }) {
  const onStage = { onEvent: (event) => event.stage && page.status(event.stage) };

  byId("show-forgot").addEventListener("click", () => {
    byId("forgot-handle").value = byId("login-handle").value;
    show("forgot");
  });
  byId("forgot-back").addEventListener("click", () => show("login"));
  byId("forgot-code-form").addEventListener("submit", (event) => {
    event.preventDefault();
    page.run(check);
  });
  byId("forgot-pass-form").addEventListener("submit", (event) => {
    event.preventDefault();
    page.run(finish);
  });
  byId("recovery-kept").addEventListener("change", () => {
    byId("recovery-continue").disabled = !byId("recovery-kept").checked;
  });
  byId("recovery-print").addEventListener("click", () => window.print());
  byId("recovery-continue").addEventListener("click", () =>
    page.run(async () => {
      byId("recovery-code").textContent = "";
      byId("print-sheets").replaceChildren();
      await enter();
    }),
  );

  // Right after activation: a recovery code, shown once, then the account.
  async function offer(profile) {
    const { code } = await page.worker.call("recovery_create", {}, onStage);
    byId("recovery-code").textContent = code;
    byId("recovery-kept").checked = false;
    byId("recovery-continue").disabled = true;
    renderSheet(profile.account, code);
    show("recovery");
  }

  function renderSheet(account, code) {
    const sheet = document.createElement("section");
    sheet.className = "sheet sheet-recovery";
    const parts = [
      ["h1", "sheet-title", t("recovery.sheet_title")],
      ["p", "", t("account.signed_in_as", { name: account.name, handle: account.handle })],
      ["p", "sheet-code", code],
      ["p", "sheet-warning", t("recovery.sheet_hint")],
    ];
    for (const [tag, className, text] of parts) {
      const node = document.createElement(tag);
      node.className = className;
      node.textContent = text;
      sheet.append(node);
    }
    byId("print-sheets").replaceChildren(sheet);
  }

  async function check() {
    const handle = byId("forgot-handle").value.trim();
    const code = byId("forgot-code").value.trim();
    if (handle === "" || code === "") throw new SealpostError("recovery_failed");
    const who = await page.worker.call("recovery_start", { handle, code }, onStage);
    byId("forgot-who").textContent = t("recovery.who", who);
    byId("forgot-code-form").hidden = true;
    byId("forgot-pass-form").hidden = false;
    byId("forgot-pass1").focus();
  }

  async function finish() {
    const first = byId("forgot-pass1").value;
    if (first !== byId("forgot-pass2").value) {
      throw new SealpostError("passphrase_mismatch");
    }
    const { handle } = await page.worker.call(
      "recovery_finish",
      { passphrase: first },
      onStage,
    );
    for (const id of ["forgot-pass1", "forgot-pass2", "forgot-code"]) {
      byId(id).value = "";
    }
    show("login");
    byId("login-handle").value = handle;
    byId("forgot-done").hidden = false;
  }

  // Leaving the view drops what was typed into it.
  function leave(name) {
    if (name !== "forgot") {
      byId("forgot-code-form").hidden = false;
      byId("forgot-pass-form").hidden = true;
    }
    if (name !== "login") byId("forgot-done").hidden = true;
  }

  return { offer, leave };
}
