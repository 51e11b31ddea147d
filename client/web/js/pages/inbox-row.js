// One row of an inbox list (a staff inbox, a box's, a depositor's reply
// box): the sender, date, size and an "Open" button. Names and subjects
// stay encrypted until the item is opened, so this is all a row shows.

import { formatBytes, formatDate, t } from "../i18n.js";

// Who sent an item, as text (never markup).
export function senderText(sender) {
  return sender === null
    ? t("account.anonymous")
    : t("account.sender", { name: sender.name, handle: sender.handle });
}

// The <li> of `item` (an inbox entry of the server); `onOpen` runs on
// "Open". `readMark` adds the new/read mark (reply boxes have none).
export function inboxRow(item, onOpen, { readMark = true } = {}) {
  const row = document.createElement("li");
  row.className = "inbox-item";
  row.dataset.shareId = item.share_id;
  row.dataset.read = String(item.read);
  const sender = document.createElement("span");
  sender.className = "sender";
  sender.textContent = senderText(item.sender);
  const details = document.createElement("span");
  details.className = "hint";
  details.textContent = t("account.item_details", {
    date: formatDate(item.created_at),
    files: item.files,
    size: formatBytes(item.size),
  });
  const button = document.createElement("button");
  button.type = "button";
  button.className = "button secondary open-item";
  button.textContent = t("account.open");
  button.addEventListener("click", onOpen);
  if (readMark) {
    const mark = document.createElement("span");
    mark.className = "read-mark";
    mark.textContent = item.read ? t("account.read") : t("account.unread");
    row.append(mark, " ");
  }
  row.append(sender, " ", details, " ", button);
  return row;
}
