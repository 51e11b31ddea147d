"""Adapt pyodide_crypto's accounts, boxes and addressed shares to the worker.

The account area's operations (``client/web/js/account-ops.js``) import this
module inside Pyodide as ``sealpost_accounts_bridge``. An unlocked account
and the box keys it opened live in one :class:`Keyring`, which the worker
holds as a PyProxy for as long as the person is signed in and destroys at
logout: usable keys exist only in the worker's memory, never in storage.

Small structured values cross the boundary as JSON text, so no JsProxy gets
into pyodide_crypto; the only PyProxies the worker holds are the keyrings,
derived passphrase secrets, new key pairs, senders and recipients, each
destroyed by the operation that made it (or at sign-out). Envelopes cross
as Uint8Array.
"""

from __future__ import annotations

import json
from typing import Any

from pyodide.ffi import JsProxy, to_js  # type: ignore[import-not-found]

from pyodide_crypto import (
    account_records,
    accounts,
    boxes,
    keys,
    share,
    suite_choice,
)
from pyodide_crypto.encoding import b64url_decode, b64url_encode
from pyodide_crypto.errors import FormatError, ParameterError
from pyodide_crypto.reply import ReplyTo
from pyodide_crypto.wrapping import KdfSpec, SecretKeys


def _load(text: str) -> Any:
    return json.loads(str(text))


def _dump(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


def _public_keys(record: object) -> list[keys.PublicKey]:
    """The public keys of an address book entry ``{"keys": [{suite, key}]}``
    or of a single key ``{suite, key}`` (a box's)."""
    if isinstance(record, dict) and set(record) == {"keys"}:
        entries = record["keys"]
        if isinstance(entries, list):
            return [keys.PublicKey.from_json(entry) for entry in entries]
    return [keys.PublicKey.from_json(record)]


# The worker's one view of its platform's suites (probed once, no key kept).
_PLATFORM = suite_choice.Platform()


async def platform_suites() -> tuple[str, ...]:
    """:raises BackendError: the platform can use no key suite."""
    return await _PLATFORM.suites()


async def _preferred(record: object) -> keys.PublicKey:
    """:raises UnsupportedSuiteError: no key this platform can encrypt to."""
    return await _PLATFORM.key_for(_public_keys(record))


async def _shown(record: object) -> keys.PublicKey:
    return await _PLATFORM.shown_key(_public_keys(record))


async def unusable(recipients: str) -> str:
    """Indexes (JSON list) of the recipients this platform cannot encrypt
    to, checked before anything is uploaded."""
    supported = await platform_suites()
    found = [_public_keys(item) for item in _load(recipients)]
    choose = suite_choice.choose_key
    return _dump([i for i, k in enumerate(found) if choose(k, supported) is None])


async def fingerprint(public: str) -> str:
    """``{text, fragment}`` of a public key (JSON, as the server lists it)."""
    digest = await keys.fingerprint(await _shown(_load(public)))
    return _dump(
        {
            "text": keys.fingerprint_text(digest),
            "fragment": keys.fingerprint_fragment(digest),
        }
    )


async def fingerprint_matches(fragment: str, public: str) -> bool:
    """Whether a link's fingerprint fragment names this public key.

    :raises FormatError: a damaged fragment or key.
    """
    return await keys.fingerprint_matches(str(fragment), await _shown(_load(public)))


# ---------------------------------------------------------------- accounts


def check_kdf(kdf: str) -> None:
    """Refuse a KDF description outside the floor and ceiling (no work).

    :raises ParameterError: parameters outside the floor and ceiling.
    :raises FormatError: not an Argon2id description.
    """
    KdfSpec.from_json(_load(kdf))


async def derive(passphrase: str, kdf: str) -> SecretKeys:
    """Run Argon2id with the account's published parameters (once).

    :raises ParameterError: parameters outside the floor and ceiling, or an
        unusable passphrase.
    :raises FormatError: a malformed KDF description.
    """
    return await accounts.derive_passphrase(str(passphrase), _load(kdf))


def auth_of(secret: SecretKeys) -> str:
    """The auth secret to send the server (base64url)."""
    return b64url_encode(secret.auth_secret)


class Keyring:
    """An unlocked account and the box keys it opened, in memory only."""

    def __init__(self, account: accounts.Account) -> None:
        self.account = account
        self._boxes: dict[tuple[str, int], boxes.BoxKey] = {}
        self._pending: accounts.Account | None = None
        #: Set by :func:`enrol`: the fields for ``POST /api/activate``.
        self.enrolment = ""

    def _public_record(self) -> dict[str, Any]:
        return accounts.public_record(self.account.record)

    async def summary(self) -> str:
        """``{publicKey, fingerprint, fragment}`` of the own account."""
        public = self._public_record()
        digest = await keys.fingerprint(await _shown(public))
        return _dump(
            {
                "publicKey": public,
                "fingerprint": keys.fingerprint_text(digest),
                "fragment": keys.fingerprint_fragment(digest),
            }
        )

    async def change_passphrase(self, old: str, new: str) -> str:
        """Check the old passphrase here, then re-seal the account key.

        The new state is kept aside until :meth:`commit_passphrase`, so a
        change the server refuses leaves this keyring as it was.

        :returns: the body of ``PUT /api/me/passphrase``.
        :raises DecryptionError: the old passphrase is wrong.
        :raises ParameterError: the new one is unacceptable.
        """
        record = self.account.record
        accounts.check_new_passphrase(str(new))
        old_secret = await accounts.derive_passphrase(str(old), record["kdf"])
        fresh = await accounts.unlock(self.account.account_id, old_secret, record)
        enrolment = await fresh.change_passphrase(str(new))
        stored = account_records.split(enrolment.record)
        self._pending = fresh
        return _dump(
            {
                "auth": b64url_encode(old_secret.auth_secret),
                "new_auth": b64url_encode(enrolment.auth_secret),
                "kdf": stored["kdf"],
                "account_key": stored["account_key"],
            }
        )

    async def create_recovery(self) -> str:
        """A new recovery code for this account (Argon2id, once).

        :returns: ``{code, recovery_auth, account_key}``: the code to show
            once, and the body of ``PUT /api/me/recovery``.
        """
        recovery = await self.account.create_recovery()
        stored = account_records.split(recovery.record)
        return _dump(
            {
                "code": recovery.code,
                "recovery_auth": b64url_encode(recovery.auth_secret),
                "account_key": stored["account_key"],
            }
        )

    async def reset_passphrase(self, new: str) -> str:
        """Re-seal the account key under a new passphrase after recovery.

        :returns: the body of ``PUT /api/me/passphrase`` from a recovery
            session (no old auth secret).
        :raises ParameterError: the new passphrase is unacceptable.
        """
        accounts.check_new_passphrase(str(new))
        enrolment = await self.account.change_passphrase(str(new))
        stored = account_records.split(enrolment.record)
        return _dump(
            {
                "new_auth": b64url_encode(enrolment.auth_secret),
                "kdf": stored["kdf"],
                "account_key": stored["account_key"],
            }
        )

    def commit_passphrase(self) -> None:
        """The server took the change: keep the re-sealed record."""
        if self._pending is not None:
            self.account = self._pending
            self._pending = None

    # ------------------------------------------------------------ boxes

    async def open_box(self, box_id: str, details: str) -> str:
        """Open every version of a box key this member holds.

        :param details: ``GET /api/boxes/{id}`` as JSON (``versions`` and
            ``my_keys``).
        :returns: the versions opened, as a JSON list.
        """
        value = _load(details)
        publics = {v["version"]: v["public_key"] for v in value["versions"]}
        supported = await platform_suites()
        opened = []
        for item in value["my_keys"]:
            version = item["version"]
            if version not in publics:
                continue
            # A version in a suite this browser lacks stays closed here.
            if keys.PublicKey.from_json(publics[version]).suite not in supported:
                continue
            box_key = await boxes.open_grant(
                str(box_id),
                version,
                publics[version],
                [item["wrapped"]],
                self.account.key_pairs,
            )
            self._boxes[(box_key.box_id, version)] = box_key
            opened.append(version)
        return _dump(sorted(opened))

    def has_box_key(self, box_id: str, version: int) -> bool:
        return (str(box_id), int(version)) in self._boxes

    def adopt_box(self, box_id: str, pair: keys.KeyPair) -> None:
        """Keep a new box's first key pair once the server named the box."""
        self._boxes[(str(box_id), 1)] = boxes.BoxKey(str(box_id), 1, pair)

    async def grant(self, box_id: str, version: int, member: str) -> str:
        """The box key of ``version`` sealed to a member's public key."""
        box_key = self._boxes.get((str(box_id), int(version)))
        if box_key is None:
            raise ParameterError("box: this key version is not open here")
        return _dump(await boxes.grant(box_key, await _preferred(_load(member))))

    async def rotate(self, box_id: str, version: int, members: str) -> str:
        """The next box key version, granted to ``members`` only.

        :param members: JSON ``[{account_id, public_key}]`` of the members
            that remain.
        :returns: ``{public_key, grants: [{account_id, wrapped}]}``.
        """
        current = self._boxes.get((str(box_id), int(version)))
        if current is None:
            raise ParameterError("box: the current key is not open here")
        remaining = _load(members)
        publics = [await _preferred(item["public_key"]) for item in remaining]
        # Not boxes.rotate, which keeps the old suite: a box made in a
        # browser without X25519 moves to it once a member's browser has it.
        new_key, record = await boxes.create(
            current.box_id,
            publics,
            version=current.version + 1,
            suite=await _PLATFORM.preferred_suite(),
        )
        self._boxes[(new_key.box_id, new_key.version)] = new_key
        return _dump(
            {
                "public_key": record["public"],
                "grants": [
                    {"account_id": item["account_id"], "wrapped": grant}
                    for item, grant in zip(remaining, record["grants"], strict=True)
                ],
            }
        )

    def forget_box_key(self, box_id: str, version: int) -> None:
        """Drop a key the server did not take (a refused rotation)."""
        self._boxes.pop((str(box_id), int(version)), None)

    # ------------------------------------------------------------ shares

    async def open_share(self, envelope: JsProxy) -> share.ShareRecipient:
        """Open an addressed share with the account's and the box keys.

        :raises DecryptionError: no stanza for any key held here.
        """
        pairs = [*self.account.key_pairs]
        pairs += [box_key.key_pair for box_key in self._boxes.values()]
        return await share.ShareRecipient.open_with_keys(bytes(envelope.to_py()), pairs)

    async def reply_to(self) -> str:
        """The own mailbox and key, for the manifest's ``reply_to``."""
        public = await _preferred(
            {"keys": [k.to_json() for k in self.account.public_keys]}
        )
        return _dump(ReplyTo(public, "account", self.account.account_id).to_json())


async def enrol(account_id: str, passphrase: str) -> Keyring:
    """A new account's keys; :attr:`Keyring.enrolment` holds what to send.

    :raises ParameterError: a passphrase too short or unusable.
    """
    # Every suite the platform has: with X25519, the P-256 key too, so that
    # senders whose browser lacks X25519 can still reach this account.
    account, enrolment = await accounts.create(
        str(account_id), str(passphrase), suites=await platform_suites()
    )
    keyring = Keyring(account)
    keyring.enrolment = _dump(
        {
            **account_records.split(enrolment.record),
            "auth": b64url_encode(enrolment.auth_secret),
        }
    )
    return keyring


async def unlock(account_id: str, secret: SecretKeys, stored: str) -> Keyring:
    """Open the account from ``/api/me``'s fields with the derived secret.

    :raises DecryptionError: the record does not open (wrong passphrase or
        a record the server altered).
    :raises FormatError: a malformed record.
    """
    record = account_records.join(_load(stored))
    account = await accounts.unlock(str(account_id), secret, record)
    return Keyring(account)


async def recovery_auth(code: str, kdf: str) -> str:
    """The recovery auth secret of ``POST /api/recover`` (base64url).

    :raises ParameterError: parameters outside the floor and ceiling, or a
        code that is not one (wrong length or symbols).
    :raises FormatError: a malformed KDF description.
    """
    secret = await accounts.derive_recovery(str(code), KdfSpec.from_json(_load(kdf)))
    return b64url_encode(secret.auth_secret)


async def recover(account_id: str, code: str, stored: str) -> Keyring:
    """Open the account from ``/api/recover``'s fields with its recovery code.

    :raises DecryptionError: the record does not open with this code.
    :raises FormatError: a malformed record, or one without recovery.
    """
    record = account_records.join(_load(stored))
    account = await accounts.recover(str(account_id), str(code), record)
    return Keyring(account)


async def new_box_key() -> keys.KeyPair:
    """A fresh key pair for a new box or reply box (granted once the box has
    its id), in the platform's preferred suite."""
    return await keys.KeyPair.generate(await _PLATFORM.preferred_suite())


def public_of(pair: keys.KeyPair) -> str:
    return _dump(pair.public.to_json())


def check_new_passphrase(passphrase: str) -> None:
    """:raises ParameterError: too short or unusable, with the reason."""
    accounts.check_new_passphrase(str(passphrase))


# ---------------------------------------------------------------- sending


async def create_sender(
    files: str, dirs: str, recipients: str, link: bool
) -> share.ShareSender:
    """Start a share sealed to public keys (mailboxes, boxes, reply boxes).

    :param files: JSON ``[{path, size, type}]``.
    :param recipients: JSON list of public keys as the server lists them.
    :param link: also a link stanza, for an outsider.
    :raises ParameterError: a bad file, recipient list, or none at all.
    """
    publics = [await _preferred(item) for item in _load(recipients)]
    sender = await share.ShareSender.create(recipients=publics, link=bool(link))
    for item in _load(files):
        sender.add_file(str(item["path"]), int(item["size"]), str(item["type"]))
    for path in _load(dirs):
        sender.add_dir(str(path))
    await sender.seal_header()
    return sender


def sender_info(sender: share.ShareSender) -> str:
    """``{fragment, claimVerifier, ciphertextSizes}``; no fragment without
    a link stanza."""
    return _dump(
        {
            "fragment": sender.fragment if sender.has_link else None,
            "claimVerifier": b64url_encode(sender.claim_verifier),
            "ciphertextSizes": [
                sender.ciphertext_size(i) for i in range(sender.file_count)
            ],
        }
    )


async def seal_manifest(
    sender: share.ShareSender,
    message: str,
    expires_in: int,
    max_downloads: int,
    reply_to: str,
) -> Any:
    """Seal the manifest, with a ``reply_to`` (JSON, or empty for none).

    :returns: the envelope as a Uint8Array.
    """
    answer = ReplyTo.from_json(_load(reply_to)) if reply_to else None
    envelope = await sender.seal_manifest(
        str(message),
        expires_in=int(expires_in),
        max_downloads=int(max_downloads),
        reply_to=answer,
    )
    return to_js(envelope)


def recipient_reply_to(recipient: share.ShareRecipient) -> str:
    """The opened manifest's ``reply_to`` as JSON, or empty text."""
    answer = recipient.manifest.reply_to
    return "" if answer is None else _dump(answer.to_json())


# ---------------------------------------------------------------- replies


def private_of(pair: keys.KeyPair) -> str:
    """A reply box's private key for its link's fragment (never the server):
    base64url, then ``.p256`` unless the suite is x25519."""
    secret = b64url_encode(pair.private)
    suite = pair.public.suite
    return secret if suite == keys.SUITE_X25519 else f"{secret}.{suite}"


def reply_box_reply_to(pair: keys.KeyPair, box_id: str) -> str:
    """The ``reply_to`` of a deposit that invites an answer (JSON)."""
    return _dump(ReplyTo(pair.public, "reply", str(box_id)).to_json())


class ReplyKeyring:
    """The key of a depositor's reply box, from the reply link."""

    def __init__(self, pair: keys.KeyPair) -> None:
        self._pair = pair

    async def open_share(self, envelope: JsProxy) -> share.ShareRecipient:
        """:raises DecryptionError: not sealed to this reply box."""
        return await share.ShareRecipient.open_with_keys(
            bytes(envelope.to_py()), [self._pair]
        )


async def reply_keyring(secret: str) -> ReplyKeyring:
    """Rebuild a reply box's key pair from the link's :func:`private_of`.

    :raises FormatError: not 32 bytes of canonical base64url, or an unknown
        suite.
    :raises ParameterError: not a usable private key.
    """
    private_text, _, suite = str(secret).partition(".")
    suite = suite or keys.SUITE_X25519
    if suite not in keys.SUITES:
        raise FormatError("reply link: unknown key suite")
    private = b64url_decode(private_text, length=keys.PRIVATE_KEY_SIZE)
    return ReplyKeyring(await keys.KeyPair.from_private(suite, private))
