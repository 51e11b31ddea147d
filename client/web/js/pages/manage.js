// Manage page (/m/<id>#<owner token>): the owner sees the share's state,
// its downloads and claims, and can revoke it. Plain API calls, no crypto.

// The owner token leaves the address bar and history before any request.
const ownerToken = location.hash.replace(/^#/, "");
if (location.href.includes("#")) {
  history.replaceState(history.state, "", location.pathname + location.search);
}

const [{ SealpostError }, { formatDate, onLanguageChange, t }, common] =
  await Promise.all([
    import("../errors.js"),
    import("../i18n.js"),
    import("./common.js"),
  ]);
const { apiJSON, byId, clearError, pathId, setState, showError } = common;

// States the server reports; anything else is shown as the server spells it.
const STATES = new Set([
  "pending",
  "ready",
  "expired",
  "consumed",
  "revoked",
  "locked",
]);
// A share in these states can no longer be revoked. A code share that
// locked after too many wrong codes opens for no one again, and the server
// deletes its files by itself.
const FINAL_STATES = new Set(["expired", "consumed", "revoked", "locked"]);

const shareId = pathId();
let status = null;
let busy = false;

function ownerHeaders() {
  return { Authorization: `Bearer ${ownerToken}` };
}

function base() {
  return `/api/shares/${encodeURIComponent(shareId)}`;
}

async function start() {
  byId("revoke").addEventListener("click", revoke);
  byId("refresh").addEventListener("click", refresh);
  await common.startLanguage();
  onLanguageChange(render);
  render();
  if (!ownerToken || !shareId) {
    setState("bad-link");
    showError(new SealpostError("bad_link"));
    return;
  }
  await refresh();
}

async function refresh() {
  if (busy) return;
  busy = true;
  render();
  try {
    status = await apiJSON(`${base()}/status`, { headers: ownerHeaders() });
    clearError();
    setState("ready");
  } catch (error) {
    setState(error.code === "unauthorized" ? "bad-link" : "error");
    showError(error);
  } finally {
    busy = false;
    render();
  }
}

async function revoke() {
  if (busy || status === null) return;
  if (!confirm(t("manage.revoke_confirm"))) return;
  busy = true;
  render();
  try {
    await apiJSON(base(), { method: "DELETE", headers: ownerHeaders() });
  } catch (error) {
    showError(error);
    busy = false;
    render();
    return;
  }
  // Revoked even if reading the status back fails: say so.
  status = { ...status, state: "revoked" };
  busy = false;
  await refresh();
}

function render() {
  const known = status !== null;
  const state = known ? String(status.state) : "";
  byId("state").textContent = !known
    ? ""
    : STATES.has(state)
      ? t(`manage.states.${state}`)
      : state;
  byId("state").dataset.value = state;
  byId("downloads").textContent = known
    ? t("manage.downloads_value", {
        count: status.downloads,
        max: status.max_downloads,
      })
    : "";
  byId("created").textContent = known ? formatDate(status.created_at) : "";
  byId("expires").textContent = known ? formatDate(status.expires_at) : "";

  const claims = known && Array.isArray(status.claims) ? status.claims : [];
  byId("claims").replaceChildren(
    ...claims.map((at) => {
      const item = document.createElement("li");
      item.textContent = formatDate(at);
      return item;
    }),
  );
  byId("no-claims").hidden = !known || claims.length > 0;
  byId("revoke").disabled = busy || !known || FINAL_STATES.has(state);
  byId("refresh").disabled = busy || !shareId || !ownerToken;
}

start().catch((error) => {
  setState("error");
  showError(error);
});
