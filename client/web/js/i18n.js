// Translations: the tables live in i18n/<language>.json; nothing shown to a
// person is written in code. Elements name their text with data-i18n (text),
// data-i18n-placeholder, data-i18n-title and data-i18n-aria-label; dynamic
// text goes through t(). Switching language re-renders without a reload.

export const LANGUAGES = ["en", "fr"];
const FALLBACK = "en";
// A chosen language is remembered so the next page speaks it too.
const STORAGE_KEY = "sealpost.language";

let current = FALLBACK;
let table = {};
let fallbackTable = {};
const listeners = new Set();
const tables = new Map();

export function language() {
  return current;
}

// The person's choice if any, else the first supported browser language.
export function preferredLanguage() {
  try {
    const stored = localStorage.getItem(STORAGE_KEY);
    if (LANGUAGES.includes(stored)) return stored;
  } catch {
    // Storage may be disabled (private modes); the browser's list decides.
  }
  for (const tag of navigator.languages ?? [navigator.language]) {
    const base = String(tag).toLowerCase().split("-")[0];
    if (LANGUAGES.includes(base)) return base;
  }
  return FALLBACK;
}

async function loadTable(assets, lang) {
  if (!tables.has(lang)) {
    const promise = fetch(`${assets}/i18n/${lang}.json`).then((response) => {
      if (!response.ok) throw new Error(`translations ${lang}: ${response.status}`);
      return response.json();
    });
    tables.set(lang, promise);
    promise.catch(() => tables.delete(lang));
  }
  return tables.get(lang);
}

// Load `lang` (and English for missing keys), apply it, tell the listeners.
export async function setLanguage(assets, lang, { remember = false } = {}) {
  const chosen = LANGUAGES.includes(lang) ? lang : FALLBACK;
  const [loaded, fallback] = await Promise.all([
    loadTable(assets, chosen),
    loadTable(assets, FALLBACK),
  ]);
  current = chosen;
  table = loaded;
  fallbackTable = fallback;
  if (remember) {
    try {
      localStorage.setItem(STORAGE_KEY, chosen);
    } catch {
      // Not remembered; this page still switches.
    }
  }
  document.documentElement.lang = chosen;
  translate(document);
  for (const listener of listeners) listener(chosen);
}

export function onLanguageChange(listener) {
  listeners.add(listener);
}

function lookup(source, key) {
  let value = source;
  for (const part of key.split(".")) {
    if (value === null || typeof value !== "object") return undefined;
    value = value[part];
  }
  return typeof value === "string" ? value : undefined;
}

// The text of `key` with {name} placeholders filled from `params`. A missing
// key shows itself, which a test or a reader notices at once.
export function t(key, params = {}) {
  const template = lookup(table, key) ?? lookup(fallbackTable, key) ?? key;
  return template.replace(/\{(\w+)\}/g, (whole, name) =>
    Object.hasOwn(params, name) ? String(params[name]) : whole,
  );
}

export function translate(root) {
  for (const element of root.querySelectorAll("[data-i18n]")) {
    element.textContent = t(element.dataset.i18n);
  }
  const attributes = [
    ["i18nPlaceholder", "placeholder"],
    ["i18nTitle", "title"],
    ["i18nAriaLabel", "aria-label"],
  ];
  for (const [data, attribute] of attributes) {
    const selector = `[data-${data.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}]`;
    for (const element of root.querySelectorAll(selector)) {
      element.setAttribute(attribute, t(element.dataset[data]));
    }
  }
}

// A byte count for people: "0 B", "40 kB", "1.5 GB" in the page's language.
export function formatBytes(bytes) {
  const units = ["byte", "kilobyte", "megabyte", "gigabyte", "terabyte"];
  let value = Number(bytes);
  if (!Number.isFinite(value) || value < 0) value = 0;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return new Intl.NumberFormat(current, {
    style: "unit",
    unit: units[unit],
    unitDisplay: unit === 0 ? "long" : "short",
    maximumFractionDigits: unit === 0 ? 0 : 1,
  }).format(value);
}

// A duration in whole seconds as the largest unit that divides it.
export function formatDuration(seconds) {
  const units = [
    ["day", 86400],
    ["hour", 3600],
    ["minute", 60],
    ["second", 1],
  ];
  for (const [unit, size] of units) {
    if (seconds >= size && seconds % size === 0) {
      return new Intl.NumberFormat(current, {
        style: "unit",
        unit,
        unitDisplay: "long",
      }).format(seconds / size);
    }
  }
  return new Intl.NumberFormat(current, {
    style: "unit",
    unit: "second",
    unitDisplay: "long",
  }).format(seconds);
}

export function formatDate(isoOrSeconds) {
  const date =
    typeof isoOrSeconds === "number"
      ? new Date(isoOrSeconds * 1000)
      : new Date(isoOrSeconds);
  if (Number.isNaN(date.getTime())) return "";
  return new Intl.DateTimeFormat(current, {
    dateStyle: "medium",
    timeStyle: "short",
  }).format(date);
}

export function formatPercent(done, total) {
  // 0 of 0 is complete: an empty file must never show NaN (C01).
  const ratio = total > 0 ? Math.min(1, Math.max(0, done / total)) : 1;
  return new Intl.NumberFormat(current, {
    style: "percent",
    maximumFractionDigits: 0,
  }).format(ratio);
}
