// The mail operations of the account area: sending a share sealed to
// public keys (mailboxes, boxes, reply boxes, with an optional link for an
// outsider), the inboxes, and opening an inbox item with the account's and
// the box keys. Dispatched from account-ops.js, which holds the session.

import {
  api,
  apiFailure,
  checkSuites,
  openBoxKeys,
  pyAwait,
  requireSession,
} from "./account-ops.js";
import { SealpostError } from "./errors.js";

// ---------------------------------------------------------------- sending

export async function sendMail(args, emit, tools, { known }) {
  const session = requireSession();
  const recipients = (args.recipients ?? []).map(({ kind, id }) => {
    const entry = known.get(`${kind}:${id}`);
    if (entry === undefined) throw new SealpostError("no_recipient");
    return {
      address: { kind, id, ...(kind === "box" ? { version: entry.version } : {}) },
      publicKey: entry.publicKey,
      name: entry.name,
    };
  });
  if (recipients.length === 0 && !args.link) {
    throw new SealpostError("no_recipient");
  }
  return sendAddressed(
    { ...args, recipients, replyTo: await pyAwait(session.keyring.reply_to()) },
    emit,
    tools,
    { "X-CSRF-Token": session.csrf },
  );
}

// Encrypt and upload a share sealed to `recipients` ({address, publicKey,
// name}), with a link stanza too when `link` is set. Shared with the
// deposit page and the reply page (no session there: `headers` is empty).
export async function sendAddressed(args, emit, tools, headers) {
  const { files, message, recipients, link, origin } = args;
  const config = await tools.getConfig();
  // Mail and deposits wait to be read: the longest life the server allows,
  // and enough downloads for every member of a box.
  const expiresIn = args.expiresIn ?? config.expiry_max_seconds;
  const maxDownloads = args.maxDownloads ?? config.downloads_max;
  tools.checkLimits(config, files, expiresIn, maxDownloads);
  // Anonymous deposits and replies have a smaller limit of their own.
  const total = files.reduce((sum, file) => sum + file.size, 0);
  if (headers === null && total > config.deposit_max_bytes) {
    throw new SealpostError("deposit_too_large", {
      size: total,
      limit: config.deposit_max_bytes,
    });
  }
  const runtime = await tools.runtime();
  const py = runtime.accounts;
  const descriptions = files.map((file) => ({
    path: file.name,
    size: file.size,
    type: file.type || "application/octet-stream",
  }));
  const refused = await tools.checkPaths({
    paths: descriptions.map((d) => d.path),
    dirs: [],
  });
  if (refused !== null) throw new SealpostError("path_invalid", { name: refused.path });
  await checkSuites(py, recipients);

  let sender;
  try {
    sender = await pyAwait(
      py.create_sender(
        JSON.stringify(descriptions),
        "[]",
        JSON.stringify(recipients.map((r) => r.publicKey)),
        Boolean(link),
      ),
    );
  } catch (error) {
    throw tools.refusedInput(error, "file_invalid");
  }
  try {
    const info = JSON.parse(py.sender_info(sender));
    let envelope;
    try {
      envelope = await pyAwait(
        py.seal_manifest(sender, message, expiresIn, maxDownloads, args.replyTo ?? ""),
      );
    } catch (error) {
      throw tools.refusedInput(error, "message_invalid");
    }
    if (envelope.length > config.max_manifest_bytes) {
      throw new SealpostError("manifest_too_large", {
        limit: config.max_manifest_bytes,
      });
    }
    const response = await tools.request("/api/shares", {
      method: "POST",
      // Without a session (deposits, replies) the cookie stays home even
      // if someone is signed in in this browser: the share is anonymous.
      ...(headers === null ? { credentials: "omit" } : {}),
      headers: { "Content-Type": "application/json", ...(headers ?? {}) },
      body: JSON.stringify({
        expires_in: expiresIn,
        max_downloads: maxDownloads,
        claim_verifier: info.claimVerifier,
        files: info.ciphertextSizes.map((size) => ({ size })),
        manifest_size: envelope.length,
        recipients: recipients.map((r) => r.address),
      }),
    });
    if (!response.ok) throw await apiFailure(response, tools);
    const created = await response.json();
    const owner = { Authorization: `Bearer ${created.owner_token}` };
    const base = `/api/shares/${encodeURIComponent(created.id)}`;
    const progress = new tools.Progress(
      emit,
      files.reduce((sum, file) => sum + file.size, 0),
      info.ciphertextSizes.reduce((sum, size) => sum + size, 0) + envelope.length,
    );
    for (let index = 0; index < files.length; index += 1) {
      const path = `${base}/files/${index}`;
      await tools.sendFile(runtime, sender, index, files[index], path, {
        owner,
        progress,
        expectedSize: info.ciphertextSizes[index],
      });
    }
    await tools.putBytes(`${base}/manifest`, envelope, owner);
    progress.uploaded(envelope.length);
    await tools.postJSON(`${base}/finalize`, {}, owner);
    const link =
      info.fragment === null ? null : `${origin}/s/${created.id}#${info.fragment}`;
    return {
      id: created.id,
      link,
      manageLink: `${origin}/m/${created.id}#${created.owner_token}`,
    };
  } finally {
    sender.destroy();
  }
}

// ---------------------------------------------------------------- inboxes

export async function inbox(tools) {
  const session = requireSession();
  // Memberships and grants may have changed since sign-in (access granted,
  // a removal, a new key version): fetched again, new keys opened.
  await openBoxKeys(tools);
  const own = await api(tools, "/api/inbox");
  const boxes = [];
  for (const box of session.me.boxes) {
    if (box.state !== "active") continue;
    const answer = await api(tools, `/api/boxes/${encodeURIComponent(box.id)}/inbox`);
    boxes.push({ id: box.id, name: box.name, items: answer.items });
  }
  return { own: own.items, boxes };
}

// Open an inbox item with the account's (and the box) keys, and make it
// the worker's current share, so the download operations of worker.js
// serve its files.
export async function openItem({ shareId }, emit, tools) {
  const session = requireSession();
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
    recipient = await pyAwait(session.keyring.open_share(envelope));
  } catch (error) {
    throw tools.pythonError(error, "cannot_open");
  }
  const replyTo = runtime.accounts.recipient_reply_to(recipient);
  const opened = tools.accept(runtime, base, info, recipient);
  await api(tools, `/api/inbox/${encodeURIComponent(shareId)}/read`, {
    method: "POST",
    body: {},
  }).catch(() => {
    // The read mark is a convenience: the item is open either way.
  });
  return { ...opened, replyTo: replyTo === "" ? null : JSON.parse(replyTo) };
}
