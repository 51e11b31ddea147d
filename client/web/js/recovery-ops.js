// The worker operations of recovery codes: a new code right after
// activation (or later, from the settings), and the "forgot passphrase"
// path: handle + recovery code → a recovery session → a new passphrase.
// worker.js hands every "recovery_*" operation here with its helpers.
//
// The code is derived with Argon2id here, like a passphrase: the server
// gets only the auth secret derived from it (it keeps a slow hash) and the
// account key sealed under the other derived key, inside the opaque
// account_key object.

import { apiFailure, pyAwait, requireSession } from "./account-ops.js";
import { SealpostError } from "./errors.js";

// {keyring, csrf, handle, name}: a recovery session with the account
// opened by its recovery code, waiting for the new passphrase; or null.
let recovering = null;

export async function recoveryOp(op, args, emit, tools) {
  switch (op) {
    case "recovery_create":
      return { result: await create(emit, tools) };
    case "recovery_start":
      return { result: await start(args, emit, tools) };
    case "recovery_finish":
      return { result: await finish(args, emit, tools) };
    default:
      throw new SealpostError("internal", { detail: `unknown operation ${op}` });
  }
}

async function send(tools, path, method, body, csrf) {
  const headers = { "Content-Type": "application/json" };
  if (csrf) headers["X-CSRF-Token"] = csrf;
  const response = await tools.request(path, {
    method,
    headers,
    body: JSON.stringify(body),
  });
  if (response.status === 401 && path === "/api/recover") {
    throw new SealpostError("recovery_failed");
  }
  if (!response.ok) throw await apiFailure(response, tools);
  return response.json();
}

// A new code replaces the old one at once (the server keeps one verifier).
async function create(emit, tools) {
  const session = requireSession();
  emit({ stage: "recovery.stage_making" });
  const made = JSON.parse(await pyAwait(session.keyring.create_recovery()));
  emit({ stage: "server" });
  await send(
    tools,
    "/api/me/recovery",
    "PUT",
    { recovery_auth: made.recovery_auth, account_key: made.account_key },
    session.csrf,
  );
  return { code: made.code };
}

async function start({ handle, code }, emit, tools) {
  const py = (await tools.runtime()).accounts;
  forget();
  emit({ stage: "params" });
  const { kdf } = await send(tools, "/api/recover/params", "POST", {
    handle: String(handle),
  });
  emit({ stage: "deriving" });
  let auth;
  try {
    auth = await pyAwait(py.recovery_auth(String(code), JSON.stringify(kdf)));
  } catch (error) {
    // A server asking for weak or stalling parameters, or a typo that is
    // not a code at all: refused here, before sending anything.
    if (error && error.type === "FormatError") throw new SealpostError("kdf_unsafe");
    if (error && error.type === "ParameterError") {
      throw new SealpostError("recovery_failed");
    }
    throw error;
  }
  emit({ stage: "server" });
  const me = await send(tools, "/api/recover", "POST", {
    handle: String(handle),
    recovery_auth: auth,
  });
  emit({ stage: "unlocking" });
  const { kdf: ownKdf, account_key, public_key, private_key } = me;
  const stored = JSON.stringify({ kdf: ownKdf, account_key, public_key, private_key });
  let keyring;
  try {
    keyring = await pyAwait(py.recover(me.account.id, String(code), stored));
  } catch (error) {
    throw tools.pythonError(error, "record_damaged");
  }
  recovering = {
    keyring,
    csrf: me.csrf_token,
    handle: me.account.handle,
    name: me.account.name,
  };
  return { handle: recovering.handle, name: recovering.name };
}

// Every session of the account ends with the change, this one included:
// the person then signs in with the new passphrase.
async function finish({ passphrase }, emit, tools) {
  if (recovering === null) throw new SealpostError("recovery_failed");
  const py = (await tools.runtime()).accounts;
  try {
    py.check_new_passphrase(String(passphrase));
  } catch (error) {
    throw tools.refusedInput(error, "passphrase_invalid");
  }
  emit({ stage: "deriving" });
  const body = JSON.parse(
    await pyAwait(recovering.keyring.reset_passphrase(String(passphrase))),
  );
  emit({ stage: "server" });
  await send(tools, "/api/me/passphrase", "PUT", body, recovering.csrf);
  const handle = recovering.handle;
  forget();
  return { handle };
}

function forget() {
  if (recovering === null) return;
  recovering.keyring.destroy();
  recovering = null;
}
