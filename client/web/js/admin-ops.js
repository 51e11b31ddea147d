// The worker operations of the administrators' view: the account list, the
// CSV import with the departmental boxes it needs, account actions and
// "grant all" for the members waiting for box access. worker.js hands every
// "admin_*" operation here with its helpers (`tools`).
//
// As in `sealpost admin import --server`, the server never makes a box key:
// a department without a box gets its key pair here, in the administrator's
// browser, sealed to the administrator's own public key; the department's
// people join as pending members and get the key sealed to them ("grant
// all") once they have activated and published a public key.

import {
  accountState,
  api,
  apiFailure,
  fingerprintOf,
  openBoxKeys,
  pyAwait,
  requireSession,
} from "./account-ops.js";
import { SealpostError } from "./errors.js";

// Largest CSV file sent (the server refuses more).
const MAX_CSV_BYTES = 8 * 1024 * 1024;
const ACTIONS = new Set(["code", "disable", "enable", "delete", "revoke-sessions"]);

const boxPath = (id) => `/api/boxes/${encodeURIComponent(id)}`;

export async function adminOp(op, args, _emit, tools) {
  const signedIn = requireSession();
  if (signedIn.me.account.role !== "admin") throw new SealpostError("forbidden");
  switch (op) {
    case "admin_accounts":
      return { result: await listAccounts(args, tools) };
    case "admin_import":
      return { result: await importFile(args, tools) };
    case "admin_action":
      return { result: await accountAction(args, tools) };
    case "admin_pending":
      return { result: await pending(tools) };
    case "admin_grant_all":
      return { result: await grantAll(tools) };
    case "admin_requests":
      return { result: await requests(tools) };
    case "admin_request_decide":
      return { result: await decide(args, tools) };
    default:
      throw new SealpostError("internal", { detail: `unknown operation ${op}` });
  }
}

async function listAccounts({ state, department, q }, tools) {
  const query = new URLSearchParams();
  if (state) query.set("state", String(state));
  if (department) query.set("department", String(department));
  if (q) query.set("q", String(q));
  query.set("limit", "1000");
  const found = await api(tools, `/api/admin/accounts?${query}`);
  return found.accounts;
}

// POST the file as it is; the server parses it (one parser for the CLI and
// the browser) and refuses the whole file at its first bad line.
async function importFile({ bytes }, tools) {
  if (!(bytes instanceof ArrayBuffer)) throw new SealpostError("file_unreadable");
  if (bytes.byteLength > MAX_CSV_BYTES) throw new SealpostError("server_limit");
  const response = await tools.request("/api/admin/import", {
    method: "POST",
    headers: {
      "Content-Type": "text/csv; charset=utf-8",
      "X-CSRF-Token": requireSession().csrf,
    },
    body: bytes,
  });
  if (response.status === 400) {
    const answer = await response
      .clone()
      .json()
      .catch(() => ({}));
    if (answer.error === "bad_request" && typeof answer.message === "string") {
      return { refused: answer.message };
    }
  }
  if (!response.ok) throw await apiFailure(response, tools);
  const answer = await response.json();
  const py = (await tools.runtime()).accounts;
  const boxesCreated = [];
  let waitingAdded = 0;
  for (const department of answer.departments) {
    if (department.box !== null) {
      waitingAdded += department.added.length;
      continue;
    }
    if (department.members.length === 0 || !department.slug) continue;
    await createDepartmentBox(py, tools, department);
    boxesCreated.push({ name: department.department, slug: department.slug });
  }
  await openBoxKeys(tools);
  return {
    created: answer.created,
    existing: answer.existing,
    duplicates: answer.duplicates,
    boxesCreated,
    waitingAdded,
  };
}

// The box key pair is made here; the grant binds the box id, which exists
// only once the server created the box, so the administrator's own grant
// follows the creation.
async function createDepartmentBox(py, tools, department) {
  const signedIn = requireSession();
  const me = signedIn.me.account.id;
  const members = [me, ...department.members.filter((id) => id !== me)];
  const pair = await pyAwait(py.new_box_key());
  try {
    const created = await api(tools, "/api/boxes", {
      method: "POST",
      body: {
        name: department.department,
        slug: department.slug,
        department: department.department,
        public_key: JSON.parse(py.public_of(pair)),
        members: members.map((id) => ({ account_id: id })),
      },
    });
    signedIn.keyring.adopt_box(created.id, pair);
    const own = JSON.stringify(signedIn.summary.publicKey);
    const wrapped = JSON.parse(await pyAwait(signedIn.keyring.grant(created.id, 1, own)));
    await api(tools, `${boxPath(created.id)}/members/${encodeURIComponent(me)}/key`, {
      method: "PUT",
      body: { version: 1, wrapped },
    });
  } finally {
    pair.destroy();
  }
}

async function accountAction({ id, action }, tools) {
  if (!ACTIONS.has(action)) {
    throw new SealpostError("internal", { detail: `unknown action ${action}` });
  }
  const path = `/api/admin/accounts/${encodeURIComponent(String(id))}`;
  if (action === "delete") return api(tools, path, { method: "DELETE" });
  return api(tools, `${path}/${action}`, { method: "POST", body: {} });
}

// The members waiting for box access, each ready one with the fingerprint
// of the key "grant all" will seal the box key to.
async function pending(tools) {
  const py = (await tools.runtime()).accounts;
  const answer = await api(tools, "/api/admin/pending-grants");
  const boxes = [];
  for (const box of answer.boxes) {
    const ready = [];
    for (const member of box.members) {
      if (!member.ready || member.public_key === null) continue;
      const { text } = await fingerprintOf(py, member.public_key);
      ready.push({ handle: member.handle, name: member.name, fingerprint: text });
    }
    boxes.push({
      id: box.id,
      name: box.name,
      slug: box.slug,
      waiting: box.waiting,
      ready,
    });
  }
  return boxes;
}

async function grantAll(tools) {
  const answer = await api(tools, "/api/admin/pending-grants");
  await openBoxKeys(tools);
  const { signedIn } = accountState();
  let granted = 0;
  const closed = [];
  for (const box of answer.boxes) {
    const ready = box.members.filter((m) => m.ready && m.public_key !== null);
    if (ready.length === 0) continue;
    if (!signedIn.keyring.has_box_key(box.id, box.version)) {
      // Only a holder of the current box key can seal it to someone.
      closed.push(box.name);
      continue;
    }
    for (const member of ready) {
      const publicKey = JSON.stringify(member.public_key);
      const wrapped = JSON.parse(
        await pyAwait(signedIn.keyring.grant(box.id, box.version, publicKey)),
      );
      const who = encodeURIComponent(member.account_id);
      await api(tools, `${boxPath(box.id)}/members/${who}/key`, {
        method: "PUT",
        body: { version: box.version, wrapped },
      });
      granted += 1;
    }
  }
  return { granted, closed };
}

// Self-service requests, each with the fingerprint of the key the person
// made: the administrator reads it with them by phone before approving.
async function requests(tools) {
  const py = (await tools.runtime()).accounts;
  const found = await api(tools, "/api/admin/requests");
  const list = [];
  for (const request of found.requests) {
    const fingerprint =
      request.public_key === null ? null : (await fingerprintOf(py, request.public_key)).text;
    list.push({ ...request, fingerprint });
  }
  return list;
}

async function decide({ id, decision }, tools) {
  if (decision !== "approve" && decision !== "reject") {
    throw new SealpostError("internal", { detail: `unknown decision ${decision}` });
  }
  const path = `/api/admin/requests/${encodeURIComponent(String(id))}/${decision}`;
  return api(tools, path, { method: "POST", body: {} });
}
