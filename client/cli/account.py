"""Staff accounts on the command line: activate, sign in, change passphrase.

Keys are made and opened here, as in the browser (pyodide_crypto), and kept
in memory only: the CLI writes no key, passphrase or session to disk. The
server gets the auth secret derived from the passphrase, never the
passphrase; the record it stores goes through
:mod:`pyodide_crypto.account_records`, so both clients store identical
shapes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TextIO

from pyodide_crypto import account_records, accounts, keys
from pyodide_crypto.encoding import b64url_encode
from pyodide_crypto.errors import DecryptionError, FormatError, ParameterError
from pyodide_crypto.wrapping import KdfSpec, SecretKeys

from .errors import CliError, TamperedError, UsageError, WrongSecretError
from .get import shown
from .mail_api import MailApi

#: The server's account record or its KDF settings would have us accept
#: weaker (or crushing) derivation than the floor and ceiling allow.
UNSAFE_KDF = "refusing to sign in: the server asks for unsafe key-derivation settings"


@dataclass(frozen=True)
class SignedIn:
    """A session on the server and the account's keys, opened in memory."""

    account: accounts.Account
    me: dict[str, Any]
    #: The current auth secret; a passphrase change must prove it.
    auth_secret: bytes

    @property
    def handle(self) -> str:
        return str(self.me["account"]["handle"])

    @property
    def reply_key(self) -> keys.PublicKey:
        """The key others encrypt answers to (X25519 if the account has it)."""
        return preferred_key(self.account.public_keys)


def preferred_key(candidates: list[keys.PublicKey]) -> keys.PublicKey:
    """X25519 if present, else the first (the P-256 fallback).

    :raises CliError: no key at all.
    """
    for key in candidates:
        if key.suite == keys.SUITE_X25519:
            return key
    if not candidates:
        raise CliError("the server lists no public key for this recipient")
    return candidates[0]


async def fingerprint_text(key: keys.PublicKey) -> str:
    """The key's fingerprint as eight groups of four digits."""
    return keys.fingerprint_text(await keys.fingerprint(key))


def _check_passphrase(passphrase: str) -> None:
    try:
        accounts.normalize_passphrase(passphrase)
    except ParameterError as exc:
        raise UsageError(f"unusable passphrase: {exc}") from None


def _kdf_spec(value: object) -> KdfSpec:
    try:
        return KdfSpec.from_json(value)
    except ParameterError:
        raise WrongSecretError(UNSAFE_KDF) from None
    except FormatError:
        raise CliError("the server sent unexpected key-derivation settings") from None


async def _unlock(me: dict[str, Any], secret: SecretKeys) -> accounts.Account:
    """Open the record the server returned; any tampering fails closed.

    Settings that differ from the ones the secret was derived with (the
    server answered two different things) fail like a modified record.
    """
    try:
        account_id = me["account"]["id"]
        record = account_records.join(me)
        return await accounts.unlock(account_id, secret, record)
    except ParameterError:
        raise WrongSecretError(UNSAFE_KDF) from None
    except (DecryptionError, FormatError, KeyError, TypeError):
        raise TamperedError(
            "your account keys from the server failed verification "
            "(damaged or tampered with)"
        ) from None


async def sign_in(api: MailApi, handle: str, passphrase: str) -> SignedIn:
    """Sign in without sending the passphrase, and open the account's keys.

    The KDF settings come from the server and are checked against the floor
    and ceiling before any derivation.

    :raises UsageError: a passphrase no account can have.
    :raises WrongSecretError: unsafe KDF settings, before any derivation.
    :raises ServerError: wrong passphrase or unknown handle (one message,
        exit status 4), or too many failures.
    :raises TamperedError: the returned record does not open.
    """
    _check_passphrase(passphrase)
    params = await api.login_params(handle)
    spec = _kdf_spec(params.get("kdf"))
    secret = await accounts.derive_passphrase(passphrase, spec)

    me = await api.login(handle, b64url_encode(secret.auth_secret))
    account = await _unlock(me, secret)
    return SignedIn(account=account, me=me, auth_secret=secret.auth_secret)


async def start_activation(api: MailApi, handle: str, code: str) -> str:
    """Check an activation code without using it; return the account id.

    The id comes first because the sealed account key is bound to it.

    :raises ServerError: a wrong, used or expired code (one message, exit
        status 4).
    """
    start = await api.activate_start(handle, code.strip())
    account_id = start.get("account_id")
    if not isinstance(account_id, str):
        raise CliError("the server sent an unexpected answer")
    return account_id


async def activate(
    api: MailApi,
    handle: str,
    code: str,
    account_id: str,
    passphrase: str,
    *,
    out: TextIO,
    err: TextIO | None = None,
) -> SignedIn:
    """Use an activation code: make the account's keys here, store them.

    A recovery code is made too; its wrap of the account key travels in the
    record and the server keeps a slow hash of its auth secret. The code is
    printed once, on ``err`` (so that a redirected standard output does not
    keep it), with the advice to print or write it down.

    :param account_id: from :func:`start_activation`.
    :raises ServerError: the code was used meanwhile (exit status 4).
    :raises UsageError: an unusable new passphrase.
    """
    try:
        account, enrolment = await accounts.create(account_id, passphrase)
    except ParameterError as exc:
        raise UsageError(f"unusable new passphrase: {exc}") from None
    recovery = await account.create_recovery()

    me = await api.activate(
        {
            "handle": handle,
            "code": code.strip(),
            "auth": b64url_encode(enrolment.auth_secret),
            "recovery_auth": b64url_encode(recovery.auth_secret),
            **account_records.split(recovery.record),
        }
    )
    signed = SignedIn(account=account, me=me, auth_secret=enrolment.auth_secret)
    name = me.get("account", {}).get("name") or signed.handle
    out.write(shown(f"activated {signed.handle} ({name})") + "\n")
    out.write(f"key fingerprint: {await fingerprint_text(signed.reply_key)}\n")
    out.flush()
    if err is not None:
        err.write(
            f"recovery code: {recovery.code}\n"
            "Print this recovery code or write it down, and keep it somewhere "
            "safe: it restores your access if you forget your passphrase. It is "
            "shown only this once.\n"
        )
        err.flush()
    return signed


async def recover(
    api: MailApi, handle: str, code: str, new_passphrase: str
) -> accounts.Account:
    """Restore access with a recovery code and set a new passphrase.

    The server's recovery settings are checked like login settings; the
    recovery session it opens can only set the new passphrase, and doing so
    ends every session of the account.

    :raises WrongSecretError: unsafe KDF settings, before any derivation.
    :raises ServerError: wrong code or unknown handle (one message).
    :raises TamperedError: the returned record does not open with the code.
    :raises UsageError: an unusable new passphrase.
    """
    try:
        accounts.check_new_passphrase(new_passphrase)
    except ParameterError as exc:
        raise UsageError(f"unusable new passphrase: {exc}") from None
    params = await api.request_json(
        "POST", "/api/recover/params", json={"handle": handle}
    )
    spec = _kdf_spec(params.get("kdf"))
    try:
        secret = await accounts.derive_recovery(code, spec)
    except ParameterError:
        raise UsageError("this is not a recovery code") from None
    me = api.signed_in(
        await api.request_json(
            "POST",
            "/api/recover",
            json={"handle": handle, "recovery_auth": b64url_encode(secret.auth_secret)},
        )
    )
    try:
        account = await accounts.recover(
            me["account"]["id"], code, account_records.join(me)
        )
    except ParameterError:
        raise WrongSecretError(UNSAFE_KDF) from None
    except (DecryptionError, FormatError, KeyError, TypeError):
        raise TamperedError(
            "your account keys from the server failed verification "
            "(damaged or tampered with)"
        ) from None
    try:
        enrolment = await account.change_passphrase(new_passphrase)
    except ParameterError as exc:
        raise UsageError(f"unusable new passphrase: {exc}") from None
    fields = account_records.split(enrolment.record)
    await api.change_passphrase(
        {
            "new_auth": b64url_encode(enrolment.auth_secret),
            "kdf": fields["kdf"],
            "account_key": fields["account_key"],
        }
    )
    return account


async def change_passphrase(api: MailApi, signed: SignedIn, new: str) -> None:
    """Re-wrap the account key under ``new``; the key pairs stay.

    :raises UsageError: an unusable new passphrase.
    :raises ServerError: the server no longer takes the old auth secret.
    """
    try:
        enrolment = await signed.account.change_passphrase(new)
    except ParameterError as exc:
        raise UsageError(f"unusable new passphrase: {exc}") from None
    fields = account_records.split(enrolment.record)
    await api.change_passphrase(
        {
            "auth": b64url_encode(signed.auth_secret),
            "new_auth": b64url_encode(enrolment.auth_secret),
            "kdf": fields["kdf"],
            "account_key": fields["account_key"],
        }
    )
