// The account area's worker operations: activation, login, passphrase
// change, the directory, addressed sending, inboxes and opening an item.
// worker.js dispatches every operation it does not know itself to
// accountOp() and hands over its own helpers (`tools`), so uploads,
// downloads and error mapping stay in one place.
//
// The unlocked keyring (a PyProxy of sealpost_accounts_bridge.Keyring) lives
// in `signedIn` for the worker's lifetime only: a reload starts a new worker
// and asks for the passphrase again. Nothing here writes to any storage.

import { boxOp } from "./box-ops.js";
import { SealpostError } from "./errors.js";
import { inbox, openItem, sendMail } from "./mail-ops.js";

// {keyring, me, csrf, summary}: the signed-in account, or null.
let signedIn = null;
// {handle, code, account}: an activation code checked, keys not made yet.
let activation = null;
// Public keys the worker showed fingerprints of, by "kind:id": a share is
// encrypted to exactly the key the person saw the fingerprint of.
const known = new Map();

export function accountState() {
  return { signedIn, known };
}

export async function accountOp(op, args, emit, tools) {
  switch (op) {
    case "activation_start":
      return { result: await activationStart(args, tools) };
    case "activate":
      return { result: await activate(args, emit, tools) };
    case "login":
      return { result: await login(args, emit, tools) };
    case "session":
      return { result: signedIn === null ? null : profile() };
    case "logout":
      return { result: await logout(tools) };
    case "change_passphrase":
      return { result: await changePassphrase(args, emit, tools) };
    case "directory":
      return { result: await directory(args, tools) };
    case "inbox":
      return { result: await inbox(tools, accountState()) };
    case "send_mail":
      return { result: await sendMail(args, emit, tools, accountState()) };
    case "open_item":
      return { result: await openItem(args, emit, tools, accountState()) };
    default:
      return boxOp(op, args, emit, tools, accountState());
  }
}

// ---------------------------------------------------------------- errors

// The API's refusals that a person can act on, as our own error codes.
export async function apiFailure(response, tools) {
  let answer = {};
  try {
    answer = await response.clone().json();
  } catch {
    // Not JSON: the status decides below.
  }
  const code = answer.error ?? "";
  const mapped = {
    activation_failed: "activation_failed",
    login_failed: "login_failed",
    session_required: "session_expired",
    csrf_failed: "session_expired",
    forbidden: "forbidden",
    conflict: "conflict",
    not_found: "not_found",
    quota_full: "quota_full",
    too_large: "server_limit",
  }[code];
  if (response.status === 429) {
    return new SealpostError("rate_limited", {
      seconds: Number(answer.retry_after ?? response.headers.get("Retry-After")),
    });
  }
  if (mapped !== undefined) return new SealpostError(mapped);
  return tools.failure(response);
}

// JSON from the API with the session's CSRF token on state changes.
export async function api(tools, path, { method = "GET", body } = {}) {
  const headers = {};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && signedIn !== null) {
    headers["X-CSRF-Token"] = signedIn.csrf;
  }
  const response = await tools.request(path, {
    method,
    headers,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!response.ok) throw await apiFailure(response, tools);
  return response.json();
}

export async function pyAwait(awaitable) {
  try {
    return await awaitable;
  } finally {
    awaitable.destroy();
  }
}

// Refuse, before anything is uploaded, a recipient ({publicKey, name})
// whose keys are all in suites this browser's WebCrypto lacks (X25519 in
// an older browser): the error names them; no name means a reply's sender.
export async function checkSuites(py, recipients) {
  const publicKeys = JSON.stringify(recipients.map((r) => r.publicKey));
  const refused = JSON.parse(await pyAwait(py.unusable(publicKeys)));
  if (refused.length === 0) return;
  const { name } = recipients[refused[0]];
  if (!name) throw new SealpostError("suite_unsupported_reply");
  throw new SealpostError("suite_unsupported", { name });
}

export function requireSession() {
  if (signedIn === null) throw new SealpostError("session_expired");
  return signedIn;
}

// ---------------------------------------------------------------- accounts

async function activationStart({ handle, code }, tools) {
  const account = await api(tools, "/api/activate/start", {
    method: "POST",
    body: { handle: String(handle), code: String(code) },
  });
  activation = { handle: String(handle), code: String(code), account };
  return {
    accountId: account.account_id,
    handle: account.handle,
    name: account.name,
    department: account.department,
  };
}

async function activate({ passphrase }, emit, tools) {
  if (activation === null) throw new SealpostError("activation_failed");
  const py = (await tools.runtime()).accounts;
  try {
    py.check_new_passphrase(String(passphrase));
  } catch (error) {
    throw tools.refusedInput(error, "passphrase_invalid");
  }
  emit({ stage: "keys" });
  const keyring = await pyAwait(
    py.enrol(activation.account.account_id, String(passphrase)),
  );
  let me;
  try {
    const fields = JSON.parse(keyring.enrolment);
    emit({ stage: "server" });
    me = await api(tools, "/api/activate", {
      method: "POST",
      body: { handle: activation.handle, code: activation.code, ...fields },
    });
  } catch (error) {
    // Refused: these keys were never stored anywhere, so they go.
    keyring.destroy();
    throw error;
  }
  activation = null;
  return adopt(keyring, me, tools);
}

async function login({ handle, passphrase }, emit, tools) {
  const py = (await tools.runtime()).accounts;
  emit({ stage: "params" });
  const { kdf } = await api(tools, "/api/login/params", {
    method: "POST",
    body: { handle: String(handle) },
  });
  // Parameters below the floor or above the ceiling: a server asking for a
  // weak derivation (or one that would stall this browser) is refused
  // before any work, and no auth secret is sent.
  try {
    py.check_kdf(JSON.stringify(kdf));
  } catch (error) {
    if (error && (error.type === "ParameterError" || error.type === "FormatError")) {
      throw new SealpostError("kdf_unsafe");
    }
    throw error;
  }
  emit({ stage: "deriving" });
  let secret;
  try {
    secret = await pyAwait(py.derive(String(passphrase), JSON.stringify(kdf)));
  } catch (error) {
    throw tools.refusedInput(error, "passphrase_invalid");
  }
  try {
    emit({ stage: "server" });
    const me = await api(tools, "/api/login", {
      method: "POST",
      body: { handle: String(handle), auth: py.auth_of(secret) },
    });
    emit({ stage: "unlocking" });
    let keyring;
    try {
      keyring = await pyAwait(
        py.unlock(me.account.id, secret, JSON.stringify(storedFields(me))),
      );
    } catch (error) {
      throw tools.pythonError(error, "record_damaged");
    }
    return await adopt(keyring, me, tools);
  } finally {
    secret.destroy();
  }
}

function storedFields(me) {
  const { kdf, account_key, public_key, private_key } = me;
  return { kdf, account_key, public_key, private_key };
}

// Keep the unlocked keyring, then open the box keys this member holds.
async function adopt(keyring, me, tools) {
  if (signedIn !== null) signedIn.keyring.destroy();
  const summary = JSON.parse(await pyAwait(keyring.summary()));
  signedIn = { keyring, me, csrf: me.csrf_token, summary };
  await openBoxKeys(tools);
  return profile();
}

// Every version of every box key this member was granted, opened once.
export async function openBoxKeys(tools) {
  const session = requireSession();
  const me = await api(tools, "/api/me");
  session.me = me;
  session.csrf = me.csrf_token;
  for (const box of me.boxes) {
    if (box.keys.length === 0) continue;
    const details = await api(tools, `/api/boxes/${encodeURIComponent(box.id)}`);
    try {
      await pyAwait(session.keyring.open_box(box.id, JSON.stringify(details)));
    } catch (error) {
      // A grant that does not open is the server's doing (or damage): the
      // box stays closed here, and the page says so.
      const type = error && error.type;
      if (type !== "DecryptionError" && type !== "FormatError") throw error;
    }
  }
}

function profile() {
  const { me, summary } = signedIn;
  return {
    account: me.account,
    fingerprint: summary.fingerprint,
    boxes: me.boxes.map((box) => ({
      id: box.id,
      name: box.name,
      slug: box.slug,
      department: box.department,
      version: box.version,
      state: box.state,
      open: signedIn.keyring.has_box_key(box.id, box.version),
    })),
  };
}

async function logout(tools) {
  if (signedIn === null) return null;
  const session = signedIn;
  signedIn = null;
  known.clear();
  tools.forgetReceived();
  try {
    await api(tools, "/api/logout", { method: "POST", body: {} }).catch(() => {});
  } finally {
    session.keyring.destroy();
  }
  return null;
}

async function changePassphrase({ old, next }, emit, tools) {
  const session = requireSession();
  const py = (await tools.runtime()).accounts;
  try {
    py.check_new_passphrase(String(next));
  } catch (error) {
    throw tools.refusedInput(error, "passphrase_invalid");
  }
  emit({ stage: "deriving" });
  let body;
  try {
    body = JSON.parse(
      await pyAwait(session.keyring.change_passphrase(String(old), String(next))),
    );
  } catch (error) {
    // The old passphrase does not open the account key: said at once,
    // without asking (or counting at) the server.
    if (error && error.type === "DecryptionError") {
      throw new SealpostError("login_failed");
    }
    throw error;
  }
  emit({ stage: "server" });
  await api(tools, "/api/me/passphrase", { method: "PUT", body });
  session.keyring.commit_passphrase();
  return { state: "changed" };
}

// ---------------------------------------------------------------- directory

export async function fingerprintOf(py, publicKey) {
  return JSON.parse(await pyAwait(py.fingerprint(JSON.stringify(publicKey))));
}

async function directory({ q }, tools) {
  requireSession();
  const py = (await tools.runtime()).accounts;
  const query = encodeURIComponent(String(q ?? ""));
  const found = await api(tools, `/api/directory?q=${query}`);
  const accounts = [];
  for (const entry of found.accounts) {
    if (entry.public_key === null) continue;
    known.set(`account:${entry.id}`, {
      publicKey: entry.public_key,
      name: entry.name || entry.handle,
    });
    const { text } = await fingerprintOf(py, entry.public_key);
    accounts.push({
      kind: "account",
      id: entry.id,
      handle: entry.handle,
      name: entry.name,
      department: entry.department,
      fingerprint: text,
    });
  }
  const boxes = [];
  for (const entry of found.boxes) {
    known.set(`box:${entry.id}`, {
      publicKey: entry.public_key,
      name: entry.name,
      version: entry.version,
    });
    const { text } = await fingerprintOf(py, entry.public_key);
    boxes.push({
      kind: "box",
      id: entry.id,
      name: entry.name,
      slug: entry.slug,
      department: entry.department,
      fingerprint: text,
    });
  }
  return { accounts, boxes };
}
