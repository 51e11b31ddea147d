// Administrators' audit log and senders' download receipts in /app. Both
// are metadata the server already holds (ids, times, counts; never content
// or file names), read straight from the API with the session cookie: no
// key is involved, so the worker is not.

import { t } from "../i18n.js";
import { apiJSON, byId } from "./common.js";

const DAY_SECONDS = 24 * 60 * 60;

function cell(text) {
  const node = document.createElement("td");
  node.textContent = text;
  return node;
}

function when(at) {
  return typeof at === "number" ? new Date(at * 1000).toISOString().slice(0, 19) : "";
}

// A date input (UTC day) as Unix seconds; `end` moves to the next day.
function dayStart(value, end) {
  if (!value) return null;
  const seconds = Date.parse(`${value}T00:00:00Z`) / 1000;
  return Number.isFinite(seconds) ? seconds + (end ? DAY_SECONDS : 0) : null;
}

export function auditQuery(format) {
  const query = new URLSearchParams();
  const type = byId("audit-type").value;
  if (type) query.set("type", type);
  const since = dayStart(byId("audit-since").value, false);
  const until = dayStart(byId("audit-until").value, true);
  if (since !== null) query.set("since", String(since));
  if (until !== null) query.set("until", String(until));
  query.set("limit", "1000");
  if (format) query.set("format", format);
  return `/api/admin/audit?${query}`;
}

export function setupAudit(page) {
  byId("audit-filter").addEventListener("submit", (event) => {
    event.preventDefault();
    page.run(refreshAudit);
  });
  for (const id of ["audit-type", "audit-since", "audit-until"]) {
    byId(id).addEventListener("change", updateLink);
  }
  byId("sent-refresh").addEventListener("click", () => page.run(refreshSent));

  function updateLink() {
    byId("audit-csv").href = auditQuery("csv");
  }

  async function refreshAudit() {
    updateLink();
    const { events } = await apiJSON(auditQuery(""));
    const body = byId("audit-events").querySelector("tbody");
    body.replaceChildren();
    for (const event of events) {
      const row = document.createElement("tr");
      row.dataset.type = event.type;
      const detail = Object.entries(event.detail ?? {})
        .map(([key, value]) => `${key}=${value}`)
        .join("; ");
      for (const value of [
        when(event.at),
        event.type,
        event.actor_id ?? "",
        event.account_id ?? "",
        event.box_id ?? event.share_id ?? "",
        detail,
      ]) {
        row.append(cell(value));
      }
      body.append(row);
    }
  }

  async function refreshSent() {
    const { shares } = await apiJSON("/api/sent");
    const list = byId("sent-list");
    list.replaceChildren();
    for (const share of shares) {
      const item = document.createElement("li");
      item.className = "sent-share";
      item.dataset.shareId = share.id;
      const head = document.createElement("p");
      head.textContent = t("receipts.share", {
        when: when(share.created_at),
        files: share.files,
        state: share.state ?? "",
      });
      item.append(head);
      const table = document.createElement("table");
      table.className = "admin-table receipts";
      for (const receipt of share.receipts) {
        const who =
          receipt.recipient.kind === "account"
            ? `${receipt.recipient.name} (${receipt.recipient.handle})`
            : t("receipts.link_claim", { claim: receipt.claim });
        for (const file of receipt.files) {
          const row = document.createElement("tr");
          row.dataset.index = String(file.index);
          row.dataset.downloaded = String(file.downloaded_at !== null);
          row.append(
            cell(who),
            cell(t("receipts.file", { number: file.index + 1 })),
            cell(
              file.downloaded_at === null
                ? t("receipts.not_yet")
                : t("receipts.downloaded", { when: when(file.downloaded_at) }),
            ),
          );
          table.append(row);
        }
      }
      if (share.receipts.length === 0) {
        const none = document.createElement("p");
        none.className = "hint";
        none.textContent = t("receipts.none");
        item.append(none);
      } else {
        item.append(table);
      }
      list.append(item);
    }
  }

  return { refreshAudit, refreshSent };
}
