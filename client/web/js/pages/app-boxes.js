// The drop-box views of /app: each box this person is a member of (or, for
// an administrator, every box) with its deposit link and QR code, its key
// fingerprint, its members (fingerprints, pending ones with "grant access",
// removal by key rotation) and, for administrators, creating a box. Every
// key operation happens in the worker; this module only shows and asks.

import { SealpostError } from "../errors.js";
import { t } from "../i18n.js";
import { directoryRow } from "./app-mail.js";
import { byId, showError } from "./common.js";
import { drawQr } from "./qr.js";

const SEARCH_DELAY_MS = 250;

export function setupBoxes(page) {
  const state = { boxes: [], results: [], chosen: [] };
  let searchTimer = null;

  byId("box-member-search").addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => search().catch(showError), SEARCH_DELAY_MS);
  });
  byId("box-create").addEventListener("submit", (event) => {
    event.preventDefault();
    page.run(create);
  });

  async function refresh() {
    if (page.profile === null) return;
    page.status("fetching");
    state.boxes = await page.worker.call("box_list", { origin: location.origin });
    await page.refreshProfile();
  }

  async function search() {
    const q = byId("box-member-search").value.trim();
    const found = await page.worker.call("directory", { q });
    state.results = found.accounts;
    render();
  }

  async function create() {
    const name = byId("box-name").value.trim();
    const slug = byId("box-slug").value.trim();
    if (name === "" || slug === "") throw new SealpostError("box_invalid");
    await page.worker.call("box_create", {
      name,
      slug,
      department: byId("box-department").value.trim(),
      members: state.chosen.map((entry) => entry.id),
    });
    for (const id of ["box-name", "box-slug", "box-department", "box-member-search"]) {
      byId(id).value = "";
    }
    state.chosen = [];
    state.results = [];
    await refresh();
  }

  async function addMember(box, handle) {
    const found = await page.worker.call("directory", { q: handle });
    const wanted = handle.toLowerCase();
    const entry = found.accounts.find((a) => a.handle.toLowerCase() === wanted);
    if (entry === undefined) throw new SealpostError("not_found");
    await page.worker.call("box_add_member", { boxId: box.id, accountId: entry.id });
    await refresh();
  }

  async function grant(box, member) {
    await page.worker.call("box_grant", { boxId: box.id, accountId: member.id });
    await refresh();
  }

  async function remove(box, member) {
    await page.worker.call("box_remove", { boxId: box.id, accountId: member.id });
    await refresh();
  }

  function reset() {
    Object.assign(state, { boxes: [], results: [], chosen: [] });
    render();
  }

  // -------------------------------------------------------------- render

  function render() {
    const admin = page.profile?.account.role === "admin";
    byId("box-create").hidden = !admin;
    byId("box-list").replaceChildren(...state.boxes.map(boxBlock));
    byId("box-member-results").replaceChildren(
      ...state.results.map((entry) =>
        directoryRow(entry, t("account.add"), () => {
          if (!state.chosen.some((c) => c.id === entry.id)) state.chosen.push(entry);
          render();
        }),
      ),
    );
    byId("box-members-chosen").replaceChildren(
      ...state.chosen.map((entry) =>
        directoryRow(entry, t("account.remove"), () => {
          state.chosen = state.chosen.filter((c) => c !== entry);
          render();
        }),
      ),
    );
  }

  function boxBlock(box) {
    const block = document.createElement("div");
    block.className = "box";
    block.dataset.boxId = box.id;
    block.dataset.slug = box.slug;
    block.dataset.version = String(box.version);
    const heading = document.createElement("h3");
    heading.textContent = box.name;

    const link = document.createElement("p");
    link.className = "link-box";
    const label = document.createElement("span");
    label.textContent = t("account.deposit_link");
    const anchor = document.createElement("a");
    anchor.className = "deposit-link";
    anchor.href = box.depositLink;
    anchor.rel = "noreferrer";
    anchor.textContent = box.depositLink;
    link.append(label, " ", anchor);
    const canvas = document.createElement("canvas");
    canvas.className = "qr";
    canvas.setAttribute("aria-label", t("account.deposit_qr"));
    drawQr(canvas, box.depositLink);

    const print = document.createElement("p");
    print.className = "hint";
    const value = document.createElement("span");
    value.className = "fingerprint box-fingerprint";
    value.textContent = box.fingerprint;
    print.append(t("account.box_fingerprint"), " ", value);

    const note = document.createElement("p");
    note.className = "hint removal-note";
    note.textContent = t("account.removal_note");
    block.append(heading, link, canvas, print, note);
    if (!box.holdsKey) {
      const closed = document.createElement("p");
      closed.className = "hint box-closed";
      closed.textContent = t("errors.box_closed");
      block.append(closed);
    }

    const members = document.createElement("ul");
    members.className = "dir-list members";
    members.replaceChildren(...box.members.map((member) => memberRow(box, member)));
    block.append(members);

    if (page.profile?.account.role === "admin") {
      const form = document.createElement("form");
      form.className = "add-member";
      form.noValidate = true;
      const input = document.createElement("input");
      input.type = "text";
      input.className = "add-member-handle";
      input.setAttribute("aria-label", t("account.handle_label"));
      input.placeholder = t("account.handle_label");
      const submit = document.createElement("button");
      submit.type = "submit";
      submit.className = "button secondary";
      submit.textContent = t("account.add_member");
      form.append(input, " ", submit);
      form.addEventListener("submit", (event) => {
        event.preventDefault();
        page.run(() => addMember(box, input.value.trim()));
      });
      block.append(form);
    }
    return block;
  }

  function memberRow(box, member) {
    const row = document.createElement("li");
    row.className = "member";
    row.dataset.accountId = member.id;
    row.dataset.handle = member.handle ?? "";
    row.dataset.state = member.state;
    const name = document.createElement("span");
    name.className = "name";
    name.textContent = t("account.sender", {
      name: member.name,
      handle: member.handle,
    });
    const stateText = document.createElement("span");
    stateText.className = "hint";
    stateText.textContent = t(`account.member_${member.state}`);
    const print = document.createElement("span");
    print.className = "fingerprint";
    print.textContent = member.fingerprint ?? t("account.not_activated");
    row.append(name, " ", stateText, " ", print);
    if (box.holdsKey && member.state === "pending" && member.fingerprint !== null) {
      row.append(" ", action("grant", t("account.grant"), () => grant(box, member)));
    }
    if (box.holdsKey && member.id !== page.profile?.account.id) {
      const label = t("account.remove_member");
      row.append(" ", action("remove", label, () => remove(box, member)));
    }
    return row;
  }

  function action(name, label, work) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = `button secondary ${name}`;
    button.textContent = label;
    button.addEventListener("click", () => page.run(work));
    return button;
  }

  return { refresh, render, reset };
}
