// What every page shares: the asset and runtime URLs the server wrote into
// <html>, the language switch, the error area and the page state that tests
// and scripts read from body[data-state].

import { asSealpostError, SealpostError } from "../errors.js";
import {
  formatBytes,
  LANGUAGES,
  onLanguageChange,
  preferredLanguage,
  setLanguage,
  t,
} from "../i18n.js";

// Error parameters that are byte counts, shown in the page's units.
const BYTE_PARAMS = new Set(["limit", "size"]);
const BYTE_CODES = new Set([
  "file_too_large",
  "share_too_large",
  "manifest_too_large",
  "deposit_too_large",
]);
// Failures whose technical detail is kept on #error[data-detail] for reports.
const DETAILED_CODES = new Set(["internal", "runtime_failed"]);

// The server fills {{assets}} and {{pyodide}} in data attributes of <html>
// (no inline script is allowed by the CSP).
export function pageUrls() {
  const { assets, pyodide } = document.documentElement.dataset;
  return { assetsURL: assets ?? "", pyodideURL: pyodide ?? "" };
}

export function setState(state) {
  document.body.dataset.state = state;
}

export function byId(id) {
  return document.getElementById(id);
}

// Set up the translations and the #lang switch; resolves once the page
// speaks the chosen language.
export async function startLanguage() {
  const { assetsURL } = pageUrls();
  const select = byId("lang");
  if (select !== null) {
    select.replaceChildren();
    for (const lang of LANGUAGES) {
      const option = document.createElement("option");
      option.value = lang;
      option.dataset.i18n = `languages.${lang}`;
      select.append(option);
    }
    select.addEventListener("change", () => {
      setLanguage(assetsURL, select.value, { remember: true }).catch(() => {
        // The old language stays; the switch shows what is really in use.
        select.value = document.documentElement.lang;
      });
    });
  }
  onLanguageChange((lang) => {
    if (select !== null) select.value = lang;
    renderError();
  });
  await setLanguage(assetsURL, preferredLanguage());
}

// ---------------------------------------------------------------- errors

let shownError = null;

export function errorMessage(error) {
  const { code, params } = asSealpostError(error);
  const values = { ...params };
  // Why a code was refused comes as a word, translated here.
  if (typeof values.reason === "string") {
    values.reason = t(`reasons.${values.reason}`);
  }
  if (BYTE_CODES.has(code)) {
    for (const key of BYTE_PARAMS) {
      if (key in values) values[key] = formatBytes(values[key]);
    }
  }
  return t(`errors.${code}`, values);
}

export function showError(error) {
  shownError = asSealpostError(error);
  renderError();
}

export function clearError() {
  shownError = null;
  renderError();
}

function renderError() {
  const area = byId("error");
  if (area === null) return;
  if (shownError === null) {
    area.textContent = "";
    area.hidden = true;
    delete area.dataset.code;
    delete area.dataset.detail;
    return;
  }
  area.textContent = errorMessage(shownError);
  area.hidden = false;
  // The code is for scripts; the detail of an unexpected failure helps a
  // person report it (our error texts never hold keys, names or tokens).
  area.dataset.code = shownError.code;
  if (DETAILED_CODES.has(shownError.code) && shownError.params.detail) {
    area.dataset.detail = String(shownError.params.detail);
  } else {
    delete area.dataset.detail;
  }
}

// ---------------------------------------------------------------- network

// JSON from our API; failures become SealpostErrors with the API's code.
export async function apiJSON(path, init = {}) {
  let response;
  try {
    response = await fetch(path, { cache: "no-store", ...init });
  } catch {
    throw new SealpostError("network");
  }
  if (response.ok) {
    const text = await response.text();
    return text === "" ? null : JSON.parse(text);
  }
  let code = "";
  try {
    code = (await response.json()).error ?? "";
  } catch {
    // Not JSON: the status says enough.
  }
  if (response.status === 404 && code === "unavailable") {
    throw new SealpostError("unavailable");
  }
  if (response.status === 401 || response.status === 403) {
    throw new SealpostError("unauthorized");
  }
  throw new SealpostError("server", { status: response.status });
}

// Read the secret in the URL fragment and remove it from the address bar
// and the history entry before anything else touches the network.
export function takeFragment() {
  const fragment = location.hash.replace(/^#/, "");
  if (location.hash !== "" || location.href.endsWith("#")) {
    history.replaceState(history.state, "", location.pathname + location.search);
  }
  return fragment;
}

// The id in /s/<id> or /m/<id>.
export function pathId() {
  const parts = location.pathname.split("/").filter((part) => part !== "");
  return parts.length >= 2 ? decodeURIComponent(parts[1]) : "";
}
