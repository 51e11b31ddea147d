// Printable activation sheets: one page per person, or one sheet per
// department, printed from the browser's print dialog (css/print.css shows
// only #print-sheets on paper). Each person's QR code points at
// /app#activate=<handle>:<code>: the fragment never reaches the server,
// and the activation view fills itself from it, then clears it.

import { language, t } from "../i18n.js";
import { byId } from "./common.js";
import { drawQr } from "./qr.js";

// Pixels per QR module; the image is scaled on paper, so only its
// sharpness depends on the cell.
const QR_CELL = 6;

export function activationLink(handle, code) {
  const value = `${encodeURIComponent(handle)}:${encodeURIComponent(code)}`;
  return `${location.origin}/app#activate=${value}`;
}

// "#activate=<handle>:<code>" of the address bar as {handle, code}, or null.
export function activationFragment(hash) {
  const found = /^#activate=([^:]*):(.*)$/.exec(hash);
  if (found === null) return null;
  try {
    return {
      handle: decodeURIComponent(found[1]),
      code: decodeURIComponent(found[2]),
    };
  } catch {
    return null;
  }
}

function qrImage(text, className) {
  const canvas = document.createElement("canvas");
  drawQr(canvas, text, { cell: QR_CELL });
  const image = document.createElement("img");
  image.className = className;
  image.src = canvas.toDataURL("image/png");
  image.alt = t("admin.sheet_qr_alt");
  return image;
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function until(at) {
  if (typeof at !== "number") return "";
  return new Date(at * 1000).toLocaleString(language());
}

function personSheet(person) {
  const sheet = element("section", "sheet sheet-person");
  sheet.dataset.handle = person.handle;
  sheet.append(element("h1", "sheet-title", t("admin.sheet_title")));
  const facts = element("dl", "sheet-facts");
  const rows = [
    ["admin.col_name", person.name],
    ["admin.col_department", person.department],
    ["admin.col_handle", person.handle],
  ];
  if (person.phone) rows.push(["admin.col_phone", person.phone]);
  for (const [key, value] of rows) {
    facts.append(element("dt", "", t(key)), element("dd", "", value));
  }
  sheet.append(facts);
  sheet.append(element("p", "sheet-label", t("admin.col_code")));
  sheet.append(element("p", "sheet-code", person.code));
  sheet.append(
    element("p", "sheet-valid", t("admin.sheet_valid", { until: until(person.expires) })),
  );
  const link = activationLink(person.handle, person.code);
  sheet.dataset.link = link;
  const steps = element("div", "sheet-steps");
  steps.append(
    qrImage(link, "sheet-qr"),
    element("p", "", t("admin.sheet_steps", { address: `${location.origin}/app` })),
  );
  sheet.append(steps);
  sheet.append(element("p", "sheet-warning", t("admin.sheet_warning")));
  return sheet;
}

function departmentSheet(name, people) {
  const sheet = element("section", "sheet sheet-department");
  sheet.append(element("h1", "sheet-title", t("admin.sheet_title")));
  sheet.append(element("h2", "", name || t("admin.no_department")));
  sheet.append(
    element("p", "", t("admin.sheet_steps", { address: `${location.origin}/app` })),
  );
  const table = element("table", "sheet-table");
  const head = element("tr");
  for (const key of ["admin.col_name", "admin.col_handle", "admin.col_code", ""]) {
    head.append(element("th", "", key ? t(key) : ""));
  }
  table.append(head);
  for (const person of people) {
    const row = element("tr");
    row.dataset.handle = person.handle;
    row.append(
      element("td", "", person.name),
      element("td", "", person.handle),
      element("td", "sheet-code-small", person.code),
    );
    const cell = element("td");
    cell.append(qrImage(activationLink(person.handle, person.code), "sheet-qr-small"));
    row.append(cell);
    table.append(row);
  }
  sheet.append(table);
  sheet.append(element("p", "sheet-warning", t("admin.sheet_warning")));
  return sheet;
}

// Rebuild #print-sheets from the codes shown in this session.
export function renderSheets(people, layout) {
  const area = byId("print-sheets");
  area.replaceChildren();
  area.dataset.layout = layout;
  if (layout === "department") {
    const groups = new Map();
    for (const person of people) {
      if (!groups.has(person.department)) groups.set(person.department, []);
      groups.get(person.department).push(person);
    }
    for (const [name, group] of groups) area.append(departmentSheet(name, group));
    return;
  }
  for (const person of people) area.append(personSheet(person));
}
