// The administrators' view of /app: members waiting for box access with
// one "grant all", the CSV import (which creates the departmental boxes in
// this browser, through the worker), the activation codes it returned with
// their printable sheets, and the account list with its actions. Codes are
// kept in this page's memory only, for printing: a reload loses them (a
// new code can be issued for any pending account).

import { SealpostError } from "../errors.js";
import { t } from "../i18n.js";
import { renderSheets } from "./app-sheets.js";
import { byId } from "./common.js";

const ACTIONS_BY_STATE = {
  pending: ["code", "delete"],
  requested: ["delete"],
  active: ["disable", "revoke-sessions", "delete"],
  disabled: ["enable", "delete"],
};

export function setupAdmin(page) {
  const state = {
    accounts: [],
    boxes: [],
    requests: [],
    codes: [],
    summary: null,
    refused: null,
  };
  // What the printed sheets were last built from: a QR code per person is
  // drawn only when the codes or the layout change, not at every render.
  let sheetsBuilt = "";
  let codesVersion = 0;

  byId("admin-import-form").addEventListener("submit", (event) => {
    event.preventDefault();
    page.run(importFile);
  });
  byId("admin-filter").addEventListener("submit", (event) => {
    event.preventDefault();
    page.run(refresh);
  });
  byId("admin-grant-all").addEventListener("click", () => page.run(grantAll));
  byId("admin-sheet-layout").addEventListener("change", render);
  byId("admin-print").addEventListener("click", () => {
    render();
    window.print();
  });

  function isAdmin() {
    return page.profile !== null && page.profile.account.role === "admin";
  }

  async function refresh() {
    if (!isAdmin()) return;
    page.status("fetching");
    state.accounts = await page.worker.call("admin_accounts", {
      state: byId("admin-filter-state").value,
      department: byId("admin-filter-department").value.trim(),
      q: byId("admin-filter-q").value.trim(),
    });
    state.boxes = await page.worker.call("admin_pending");
    state.requests = await page.worker.call("admin_requests");
    render();
  }

  async function importFile() {
    state.refused = null;
    state.summary = null;
    const file = byId("admin-import-file").files[0];
    if (file === undefined) throw new SealpostError("no_files");
    page.status("admin.stage_import");
    const bytes = await file.arrayBuffer();
    const answer = await page.worker.call("admin_import", { bytes }, { transfer: [bytes] });
    if (answer.refused !== undefined) {
      state.refused = answer.refused;
      render();
      return;
    }
    state.summary = answer;
    keepCodes(answer.created);
    byId("admin-import-file").value = "";
    await refresh();
  }

  function keepCodes(created) {
    codesVersion += 1;
    for (const item of created) {
      state.codes = state.codes.filter((c) => c.handle !== item.handle);
      state.codes.push({
        handle: item.handle,
        name: item.name,
        department: item.department,
        role: item.role,
        phone: item.phone ?? "",
        code: item.code,
        expires: item.activation_expires_at,
      });
    }
  }

  async function act(account, action) {
    const answer = await page.worker.call("admin_action", { id: account.id, action });
    if (action === "code") keepCodes([answer.account]);
    await refresh();
  }

  async function grantAll() {
    byId("admin-grant-done").hidden = true;
    const done = await page.worker.call("admin_grant_all");
    await refresh();
    const note = byId("admin-grant-done");
    note.textContent = t("admin.granted", { count: done.granted });
    if (done.closed.length > 0) {
      note.textContent += ` ${t("admin.grant_closed", { boxes: done.closed.join(", ") })}`;
    }
    note.hidden = false;
    await page.refreshProfile();
  }

  function render() {
    byId("tab-admin").hidden = !isAdmin();
    renderWaiting();
    renderRequests();
    renderImport();
    renderCodes();
    renderAccounts();
  }

  function renderWaiting() {
    const waiting = state.boxes.reduce((sum, box) => sum + box.waiting, 0);
    const ready = state.boxes.reduce((sum, box) => sum + box.ready.length, 0);
    byId("admin-waiting").textContent = t("admin.waiting", { count: waiting, ready });
    byId("admin-grant-all").disabled = ready === 0;
    const list = byId("admin-waiting-list");
    list.replaceChildren();
    for (const box of state.boxes) {
      for (const member of box.ready) {
        const item = document.createElement("li");
        item.className = "waiting-member";
        item.dataset.handle = member.handle;
        item.textContent = t("admin.waiting_member", {
          box: box.name,
          name: member.name,
          handle: member.handle,
          fingerprint: member.fingerprint,
        });
        list.append(item);
      }
    }
  }

  function renderRequests() {
    byId("admin-requests-block").hidden = state.requests.length === 0;
    const list = byId("admin-requests");
    list.replaceChildren();
    for (const request of state.requests) {
      const item = document.createElement("li");
      item.className = "request";
      item.dataset.handle = request.handle;
      const text = document.createElement("span");
      text.textContent = t("request.queue_item", {
        name: request.name,
        department: request.department,
        handle: request.handle,
      });
      const print = document.createElement("span");
      print.className = "fingerprint";
      print.textContent = request.fingerprint ?? "";
      item.append(text, " ", print, " ");
      for (const decision of ["approve", "reject"]) {
        const button = document.createElement("button");
        button.type = "button";
        button.className = "button secondary small";
        button.dataset.decision = decision;
        button.textContent = t(`request.${decision}`);
        button.addEventListener("click", () =>
          page.run(async () => {
            await page.worker.call("admin_request_decide", { id: request.id, decision });
            await refresh();
          }),
        );
        item.append(button);
      }
      list.append(item);
    }
  }

  function renderImport() {
    const error = byId("admin-import-error");
    error.hidden = state.refused === null;
    error.textContent =
      state.refused === null ? "" : t("admin.import_refused", { reason: state.refused });
    const summary = byId("admin-import-summary");
    summary.hidden = state.summary === null;
    if (state.summary === null) return;
    const { created, existing, duplicates, boxesCreated, waitingAdded } = state.summary;
    summary.textContent = t("admin.import_done", {
      created: created.length,
      existing: existing.length,
      duplicates,
      boxes: boxesCreated.length,
      added: waitingAdded,
    });
  }

  function renderCodes() {
    byId("admin-codes-block").hidden = state.codes.length === 0;
    const body = byId("admin-codes").querySelector("tbody");
    body.replaceChildren();
    for (const person of state.codes) {
      const row = document.createElement("tr");
      row.dataset.handle = person.handle;
      for (const value of [person.name, person.department, person.handle, person.code]) {
        const cell = document.createElement("td");
        cell.textContent = value;
        row.append(cell);
      }
      row.lastChild.className = "code";
      body.append(row);
    }
    const layout = byId("admin-sheet-layout").value;
    const wanted = `${codesVersion}:${layout}:${document.documentElement.lang}`;
    if (wanted !== sheetsBuilt) {
      renderSheets(state.codes, layout);
      sheetsBuilt = wanted;
    }
  }

  function renderAccounts() {
    const body = byId("admin-accounts").querySelector("tbody");
    body.replaceChildren();
    const me = page.profile?.account.id;
    for (const account of state.accounts) {
      const row = document.createElement("tr");
      row.dataset.handle = account.handle;
      row.dataset.state = account.state;
      const values = [
        account.name,
        account.handle,
        account.department,
        t(`admin.role_${account.role}`),
        t(`admin.state_${account.state}`),
      ];
      for (const value of values) {
        const cell = document.createElement("td");
        cell.textContent = value;
        row.append(cell);
      }
      const cell = document.createElement("td");
      for (const action of account.id === me ? [] : ACTIONS_BY_STATE[account.state]) {
        cell.append(actionButton(account, action));
      }
      row.append(cell);
      body.append(row);
    }
  }

  // Deleting asks twice: the first press only arms the button.
  function actionButton(account, action) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "button secondary small";
    button.dataset.action = action;
    button.textContent = t(`admin.action_${action.replace("-", "_")}`);
    button.addEventListener("click", () => {
      if (action === "delete" && button.dataset.armed !== "true") {
        button.dataset.armed = "true";
        button.textContent = t("admin.action_delete_confirm");
        return;
      }
      page.run(() => act(account, action));
    });
    return button;
  }

  function reset() {
    Object.assign(state, { accounts: [], boxes: [], requests: [], codes: [] });
    state.summary = null;
    state.refused = null;
    codesVersion += 1;
    byId("print-sheets").replaceChildren();
  }

  return { refresh, render, reset };
}
