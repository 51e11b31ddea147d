// The worker operation of a self-service account request, for when no
// activation code can be handed out: the keys are made here with the
// passphrase the person chose, the server stores the sealed record as a
// "requested" account, and an administrator approves it after reading the
// key's fingerprint with the person by phone. The keys are not kept in
// memory: after approval the person signs in with the passphrase.

import { api, pyAwait } from "./account-ops.js";
import { SealpostError } from "./errors.js";

export async function requestOp(op, args, _emit, tools) {
  if (op !== "request_send") {
    throw new SealpostError("internal", { detail: `unknown operation ${op}` });
  }
  return { result: await send(args, _emit, tools) };
}

async function send({ handle, name, department, passphrase }, emit, tools) {
  const py = (await tools.runtime()).accounts;
  try {
    py.check_new_passphrase(String(passphrase));
  } catch (error) {
    throw tools.refusedInput(error, "passphrase_invalid");
  }
  emit({ stage: "server" });
  const { account_id } = await api(tools, "/api/requests/start", {
    method: "POST",
    body: {},
  });
  emit({ stage: "keys" });
  // The sealed account key is bound to the id the server handed out.
  const keyring = await pyAwait(py.enrol(account_id, String(passphrase)));
  try {
    const fields = JSON.parse(keyring.enrolment);
    const summary = JSON.parse(await pyAwait(keyring.summary()));
    emit({ stage: "server" });
    await api(tools, "/api/requests", {
      method: "POST",
      body: {
        account_id,
        handle: String(handle),
        name: String(name),
        department: String(department),
        ...fields,
      },
    });
    return { handle: String(handle), fingerprint: summary.fingerprint };
  } finally {
    keyring.destroy();
  }
}
