// The worker operations of departmental drop boxes: creating a box, its
// members (grant, removal by rotation), the public deposit page, reply
// boxes for depositors and replies from outsiders. Called from
// account-ops.js with worker.js's helpers (`tools`) and the signed-in state.
//
// Every box key is made, granted and rotated here, in the browser of the
// member or administrator who acts: the server only stores the public keys
// and the grants (box private keys sealed to members' public keys).

import {
  api,
  apiFailure,
  checkSuites,
  fingerprintOf,
  openBoxKeys,
  pyAwait,
} from "./account-ops.js";
import { SealpostError } from "./errors.js";
import { sendAddressed } from "./mail-ops.js";

// The box the deposit page deposits into: {id, version, publicKey}.
let depositTarget = null;
// The reply box opened from a reply link: {id, token, keyring}.
let replyBox = null;

export async function boxOp(op, args, emit, tools, state) {
  switch (op) {
    case "box_list":
      return { result: await boxList(args, tools, state) };
    case "box_create":
      return { result: await boxCreate(args, tools, state) };
    case "box_add_member":
      return { result: await boxAddMember(args, tools, state) };
    case "box_grant":
      return { result: await boxGrant(args, tools, state) };
    case "box_remove":
      return { result: await boxRemove(args, tools, state) };
    case "deposit_open":
      return { result: await depositOpen(args, tools) };
    case "deposit_send":
      return { result: await depositSend(args, emit, tools) };
    case "reply_target":
      return { result: await replyTarget(tools) };
    case "reply_send":
      return { result: await replySend(args, emit, tools, state) };
    case "reply_box_open":
      return { result: await replyBoxOpen(args, tools) };
    case "reply_item_open":
      return { result: await replyItemOpen(args, emit, tools) };
    default:
      throw new SealpostError("internal", { detail: `unknown operation ${op}` });
  }
}

function session(state) {
  if (state.signedIn === null) throw new SealpostError("session_expired");
  return state.signedIn;
}

const boxPath = (id) => `/api/boxes/${encodeURIComponent(id)}`;

// ---------------------------------------------------------------- members

// The boxes this person is a member of (and, for an administrator, every
// box), each with its members, their fingerprints and the deposit link.
async function boxList({ origin }, tools, state) {
  const signedIn = session(state);
  await openBoxKeys(tools);
  const py = (await tools.runtime()).accounts;
  const ids = new Set(signedIn.me.boxes.map((box) => box.id));
  if (signedIn.me.account.role === "admin") {
    const found = await api(tools, "/api/directory?q=");
    for (const box of found.boxes) ids.add(box.id);
  }
  const boxes = [];
  for (const id of ids) {
    const details = await api(tools, boxPath(id));
    const print = await fingerprintOf(py, details.public_key);
    const members = [];
    for (const member of details.members) {
      if (member.public_key !== null) {
        state.known.set(`account:${member.account_id}`, {
          publicKey: member.public_key,
          name: member.name || member.handle,
        });
      }
      members.push({
        id: member.account_id,
        handle: member.handle,
        name: member.name,
        state: member.state,
        fingerprint:
          member.public_key === null
            ? null
            : (await fingerprintOf(py, member.public_key)).text,
      });
    }
    boxes.push({
      id: details.id,
      name: details.name,
      slug: details.slug,
      department: details.department,
      version: details.version,
      fingerprint: print.text,
      depositLink: `${origin}/b/${details.slug}#${print.fragment}`,
      holdsKey: signedIn.keyring.has_box_key(details.id, details.version),
      members,
    });
  }
  return boxes;
}

// The public key a grant is sealed to: the one whose fingerprint the
// person was shown (directory or member list), never a fresher one.
function memberKey(state, accountId) {
  return memberEntry(state, accountId).publicKey;
}

function memberEntry(state, accountId) {
  const entry = state.known.get(`account:${accountId}`);
  if (entry === undefined) throw new SealpostError("no_recipient");
  return entry;
}

async function boxCreate({ name, slug, department, members }, tools, state) {
  const signedIn = session(state);
  const py = (await tools.runtime()).accounts;
  const keys = members.map((id) => ({ id, ...memberEntry(state, id) }));
  // Before the box exists: a member this browser cannot seal to is refused.
  await checkSuites(py, keys);
  const pair = await pyAwait(py.new_box_key());
  try {
    const created = await api(tools, "/api/boxes", {
      method: "POST",
      body: {
        name: String(name),
        slug: String(slug),
        department: String(department ?? ""),
        public_key: JSON.parse(py.public_of(pair)),
        // Pending at first: the grants bind the box id, known only now.
        members: keys.map(({ id }) => ({ account_id: id })),
      },
    });
    signedIn.keyring.adopt_box(created.id, pair);
    for (const { id, publicKey } of keys) {
      await grantTo(signedIn, tools, created.id, 1, id, publicKey);
    }
    return { id: created.id };
  } finally {
    pair.destroy();
  }
}

async function grantTo(signedIn, tools, boxId, version, accountId, publicKey) {
  const wrapped = JSON.parse(
    await pyAwait(signedIn.keyring.grant(boxId, version, JSON.stringify(publicKey))),
  );
  await api(tools, `${boxPath(boxId)}/members/${encodeURIComponent(accountId)}/key`, {
    method: "PUT",
    body: { version, wrapped },
  });
}

async function boxAddMember({ boxId, accountId }, tools, state) {
  session(state);
  memberKey(state, accountId);
  await api(tools, `${boxPath(boxId)}/members`, {
    method: "POST",
    body: { account_id: String(accountId) },
  });
  return null;
}

// Wrap the current box key to a pending member, in this browser.
async function boxGrant({ boxId, accountId }, tools, state) {
  const signedIn = session(state);
  const details = await api(tools, boxPath(boxId));
  if (!signedIn.keyring.has_box_key(boxId, details.version)) {
    throw new SealpostError("box_closed");
  }
  const member = memberEntry(state, accountId);
  await checkSuites((await tools.runtime()).accounts, [member]);
  const publicKey = member.publicKey;
  await grantTo(signedIn, tools, boxId, details.version, accountId, publicKey);
  return null;
}

// Remove a member: a new box key, granted to the remaining active members
// only. New deposits go to it; what the removed member could open before
// stays open to them (the page says so).
async function boxRemove({ boxId, accountId }, tools, state) {
  const signedIn = session(state);
  const details = await api(tools, boxPath(boxId));
  const version = details.version;
  if (!signedIn.keyring.has_box_key(boxId, version)) {
    throw new SealpostError("box_closed");
  }
  const remaining = details.members
    .filter((m) => m.state === "active" && m.account_id !== accountId)
    .map((m) => ({
      account_id: m.account_id,
      public_key: memberKey(state, m.account_id),
    }));
  if (remaining.length === 0) throw new SealpostError("no_recipient");
  await checkSuites(
    (await tools.runtime()).accounts,
    remaining.map((m) => memberEntry(state, m.account_id)),
  );
  const rotated = JSON.parse(
    await pyAwait(signedIn.keyring.rotate(boxId, version, JSON.stringify(remaining))),
  );
  try {
    await api(tools, `${boxPath(boxId)}/rotate`, {
      method: "POST",
      body: {
        remove: [String(accountId)],
        public_key: rotated.public_key,
        version: version + 1,
        wrapped: rotated.grants,
      },
    });
  } catch (error) {
    signedIn.keyring.forget_box_key(boxId, version + 1);
    throw error;
  }
  return { version: version + 1 };
}

// ---------------------------------------------------------------- deposits

// The box behind /b/<slug>, checked against the fingerprint in the link.
async function depositOpen({ slug, fragment }, tools) {
  const py = (await tools.runtime()).accounts;
  const box = await api(tools, `/api/boxes/by-slug/${encodeURIComponent(slug)}`);
  const print = await fingerprintOf(py, box.public_key);
  let matches = null;
  if (fragment) {
    try {
      matches = await pyAwait(
        py.fingerprint_matches(String(fragment), JSON.stringify(box.public_key)),
      );
    } catch (error) {
      throw tools.pythonError(error, "bad_link");
    }
  }
  depositTarget = matches === false ? null : box;
  return {
    name: box.name,
    department: box.department,
    fingerprint: print.text,
    matches,
  };
}

async function depositSend({ files, message, withReply, origin }, emit, tools) {
  if (depositTarget === null) throw new SealpostError("fingerprint_mismatch");
  const py = (await tools.runtime()).accounts;
  const box = depositTarget;
  const recipient = {
    address: { kind: "box", id: box.id, version: box.version },
    publicKey: box.public_key,
    name: box.name,
  };
  // Before the reply box is made: nothing is uploaded for a refused box.
  await checkSuites(py, [recipient]);
  let reply = null;
  let replyTo = "";
  if (withReply) {
    // The reply box's private key goes only into the reply link's fragment.
    const pair = await pyAwait(py.new_box_key());
    try {
      const created = await anonymousPost(tools, "/api/reply-boxes", {
        public_key: JSON.parse(py.public_of(pair)),
      });
      replyTo = py.reply_box_reply_to(pair, created.id);
      reply = { id: created.id, fragment: `${created.token}.${py.private_of(pair)}` };
    } finally {
      pair.destroy();
    }
  }
  const sent = await sendAddressed(
    {
      files,
      message,
      origin,
      link: false,
      replyTo,
      recipients: [recipient],
    },
    emit,
    tools,
    null,
  );
  return {
    id: sent.id,
    replyLink: reply === null ? null : `${origin}/r/${reply.id}#${reply.fragment}`,
  };
}

// A POST without the session cookie: deposits and reply boxes are
// anonymous even in a browser where someone is signed in.
async function anonymousPost(tools, path, body) {
  const response = await tools.request(path, {
    method: "POST",
    credentials: "omit",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw await apiFailure(response, tools);
  return response.json();
}

// ---------------------------------------------------------------- replies

// Where the share open on this receive page says answers go, or null.
async function replyTarget(tools) {
  const current = tools.received();
  if (current === null) return null;
  const py = (await tools.runtime()).accounts;
  const text = py.recipient_reply_to(current.recipient);
  return text === "" ? null : JSON.parse(text);
}

// Answer the share open in this worker, to the key and mailbox its
// manifest names. Staff answer as themselves (and invite a reply in turn);
// anyone else answers anonymously.
async function replySend({ files, message, origin }, emit, tools, state) {
  const target = await replyTarget(tools);
  if (target === null) throw new SealpostError("no_recipient");
  const { to, suite, key } = target;
  const signedIn = state.signedIn;
  return sendAddressed(
    {
      files,
      message,
      origin,
      link: false,
      replyTo: signedIn === null ? "" : await pyAwait(signedIn.keyring.reply_to()),
      recipients: [
        { address: { kind: to.kind, id: to.id }, publicKey: { suite, key } },
      ],
    },
    emit,
    tools,
    signedIn === null ? null : { "X-CSRF-Token": signedIn.csrf },
  );
}

// A reply link: /r/<id>#<token>.<private key>[.<suite>]. The token lists
// the reply box's inbox; the private key, which never reached the server,
// opens it (its suite is named unless x25519).
async function replyBoxOpen({ id, fragment }, tools) {
  const text = String(fragment);
  const dot = text.indexOf(".");
  const token = dot < 0 ? "" : text.slice(0, dot);
  const secret = dot < 0 ? "" : text.slice(dot + 1);
  if (!token || !secret) throw new SealpostError("bad_link");
  const py = (await tools.runtime()).accounts;
  let keyring;
  try {
    keyring = await pyAwait(py.reply_keyring(secret));
  } catch (error) {
    throw tools.pythonError(error, "bad_link");
  }
  if (replyBox !== null) replyBox.keyring.destroy();
  replyBox = { id: String(id), token, keyring };
  const path = `/api/reply-boxes/${encodeURIComponent(id)}/inbox`;
  const answer = await bearer(tools, path);
  return answer.items;
}

async function bearer(tools, path, method = "GET") {
  if (replyBox === null) throw new SealpostError("bad_link");
  const response = await tools.request(path, {
    method,
    credentials: "omit",
    headers: { Authorization: `Bearer ${replyBox.token}` },
  });
  if (!response.ok) throw await apiFailure(response, tools);
  return response.json();
}

async function replyItemOpen({ shareId }, emit, tools) {
  if (replyBox === null) throw new SealpostError("bad_link");
  const runtime = await tools.runtime();
  emit({ stage: "fetching" });
  const base = `/api/shares/${encodeURIComponent(shareId)}`;
  const info = await tools.json(base);
  const response = await tools.request(`${base}/manifest`);
  if (!response.ok) throw await tools.failure(response);
  const envelope = new Uint8Array(await response.arrayBuffer());
  emit({ stage: "decrypting" });
  let recipient;
  try {
    recipient = await pyAwait(replyBox.keyring.open_share(envelope));
  } catch (error) {
    throw tools.pythonError(error, "cannot_open");
  }
  const opened = tools.accept(runtime, base, info, recipient);
  const box = encodeURIComponent(replyBox.id);
  const read = `/api/reply-boxes/${box}/inbox/${encodeURIComponent(shareId)}/read`;
  // The read mark is a convenience: the answer is open either way.
  await bearer(tools, read, "POST").catch(() => {});
  return opened;
}
