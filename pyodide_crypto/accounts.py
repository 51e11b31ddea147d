"""Account keys: passphrase, account key, private keys, recovery code.

Sans-IO. Everything the server stores is in :attr:`Account.record`, a small
JSON-able dict of base64url strings and integers; the server also keeps a
slow hash of the *auth secret* the client sends at enrolment and login. See
docs/keys.md for the hierarchy:

    S    = Argon2id(normalize_passphrase(passphrase), salt, m, t, p)
    auth = HKDF-SHA256(S, salt, "sealpost.v1/account-auth")       -> server
    PW   = HKDF-SHA256(S, salt, "sealpost.v1/account-passphrase-wrap")
    AK   = random(32), sealed under PW (and under the recovery wrap key)
    K    = HKDF-SHA256(AK, "", "sealpost.v1/account-private-key")
    each HPKE private key sealed under K, bound to its public key

A passphrase change re-seals AK only; the key pairs and everything sealed to
them stay as they are.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any

from . import kdf, keys
from .errors import BackendError, DecryptionError, FormatError, ParameterError
from .hpke_stanza import HpkeIdentity
from .runtime import backend
from .wrapping import SECRET_SIZE, KdfSpec, SecretKeys, open_key, seal_key

RECORD_VERSION = 1
ACCOUNT_KEY_SIZE = 32
AUTH_LABEL = b"sealpost.v1/account-auth"
WRAP_LABEL = b"sealpost.v1/account-passphrase-wrap"
RECOVERY_AUTH_LABEL = b"sealpost.v1/recovery-auth"
RECOVERY_WRAP_LABEL = b"sealpost.v1/recovery-wrap"
#: AAD labels of AK's two wraps; the account id follows a 0x00.
ACCOUNT_KEY_AAD = b"sealpost.v1/account-key/passphrase"
RECOVERY_KEY_AAD = b"sealpost.v1/account-key/recovery"
#: HKDF info of the key that seals private keys, and the AAD label of each.
PRIVATE_KEY_LABEL = b"sealpost.v1/account-private-key"

#: Enforced when a passphrase is set, never when one is used: raising it
#: later must not lock anybody out.
MIN_PASSPHRASE_LENGTH = 8
MAX_PASSPHRASE_BYTES = 1024
#: 20 symbols of 30 (about 98 bits), as four groups of five.
RECOVERY_CODE_LENGTH = 20
MAX_ACCOUNT_ID_BYTES = 256

_REFUSED_CATEGORIES = ("Cc", "Cs", "Co", "Cn")
_RECORD_KEYS = frozenset({"v", "kdf", "account_key", "keys"})


def normalize_passphrase(passphrase: str) -> bytes:
    """The bytes a passphrase stands for (RFC 8265's OpaqueString, in short).

    Every Unicode space becomes U+0020, then NFC; case, inner and outer
    spaces are kept. Unlike codes, which are read aloud, a passphrase is
    typed by its owner, so folding case would only lower its entropy; NFC
    makes the same accented text from two keyboards equal.

    :raises ParameterError: empty, over 1024 bytes, or containing control,
        surrogate, private-use or unassigned characters.
    """
    if not isinstance(passphrase, str):
        raise ParameterError("the passphrase must be text")
    spaced = "".join(" " if unicodedata.category(c) == "Zs" else c for c in passphrase)
    text = unicodedata.normalize("NFC", spaced)
    if not text:
        raise ParameterError("the passphrase is empty")
    if any(unicodedata.category(c) in _REFUSED_CATEGORIES for c in text):
        raise ParameterError("the passphrase contains a control character")
    data = text.encode("utf-8")
    if len(data) > MAX_PASSPHRASE_BYTES:
        raise ParameterError(f"the passphrase is over {MAX_PASSPHRASE_BYTES} bytes")
    return data


def check_new_passphrase(passphrase: str) -> None:
    """Refuse a passphrase too short to set (at least 8 characters).

    :raises ParameterError: see :func:`normalize_passphrase`, or too short.
    """
    text = normalize_passphrase(passphrase).decode("utf-8")
    if len(text) < MIN_PASSPHRASE_LENGTH:
        raise ParameterError(
            f"the passphrase must have at least {MIN_PASSPHRASE_LENGTH} characters"
        )


async def derive_passphrase(
    passphrase: str, spec: KdfSpec | dict[str, Any]
) -> SecretKeys:
    """Run Argon2id once; gives the auth secret to send and the wrap key.

    :param spec: the record's KDF description, as the server serves it
        before login (a dict), or parsed.
    :raises FormatError: a malformed KDF description.
    :raises ParameterError: parameters outside the floor and ceiling (before
        any work), or an unacceptable passphrase.
    """
    if not isinstance(spec, KdfSpec):
        spec = KdfSpec.from_json(spec)
    return await SecretKeys.derive(
        normalize_passphrase(passphrase), spec, AUTH_LABEL, WRAP_LABEL
    )


async def derive_recovery(code: str, spec: KdfSpec) -> SecretKeys:
    """Like :func:`derive_passphrase`, for a recovery code (normalised as
    codes are: case, spaces and hyphens do not count)."""
    return await SecretKeys.derive(
        kdf.normalize_code(code), spec, RECOVERY_AUTH_LABEL, RECOVERY_WRAP_LABEL
    )


def _aad(label: bytes, account_id: str) -> bytes:
    return label + b"\x00" + account_id.encode("utf-8")


def _check_account_id(account_id: object) -> str:
    if not isinstance(account_id, str) or not account_id:
        raise ParameterError("account id: expected a non-empty string")
    if len(account_id.encode("utf-8", "surrogatepass")) > MAX_ACCOUNT_ID_BYTES:
        raise ParameterError(f"account id: over {MAX_ACCOUNT_ID_BYTES} bytes")
    return account_id


@dataclass(frozen=True)
class Enrolment:
    """What to send the server: the auth secret (it keeps a slow hash) and
    the record to store (or to replace the stored one with)."""

    auth_secret: bytes
    record: dict[str, Any]


@dataclass(frozen=True)
class Recovery:
    """A new recovery code: show ``code`` once; send the auth secret and the
    updated record."""

    code: str
    auth_secret: bytes
    record: dict[str, Any]


class Account:
    """An unlocked account: its account key and key pairs, in memory only.

    Make one with :func:`create`, :func:`unlock` or :func:`recover`.
    """

    def __init__(
        self,
        account_id: str,
        account_key: bytes,
        key_pairs: list[keys.KeyPair],
        record: dict[str, Any],
    ) -> None:
        """Use :func:`create`, :func:`unlock` or :func:`recover`."""
        self.account_id = account_id
        self._account_key = account_key
        self.key_pairs = tuple(key_pairs)
        self._record = record

    @property
    def record(self) -> dict[str, Any]:
        """A copy of what the server stores (opaque to it)."""
        return _copy_record(self._record)

    @property
    def public_keys(self) -> list[keys.PublicKey]:
        return [pair.public for pair in self.key_pairs]

    def key_pair(self, suite: str = keys.SUITE_X25519) -> keys.KeyPair:
        """The account's key pair of ``suite``.

        :raises ParameterError: the account has none.
        """
        for pair in self.key_pairs:
            if pair.public.suite == suite:
                return pair
        raise ParameterError(f"account: no {suite} key")

    def identities(self) -> list[HpkeIdentity]:
        """Identities that open HPKE stanzas sent to this account."""
        return [HpkeIdentity(pair) for pair in self.key_pairs]

    async def change_passphrase(
        self,
        passphrase: str,
        *,
        params: kdf.Argon2Params = kdf.DEFAULT,
        test_salt: bytes | None = None,
    ) -> Enrolment:
        """Re-seal the account key under a new passphrase (fresh salt).

        Only ``kdf`` and ``account_key`` of the record change; the key pairs
        and the recovery wrap stay.

        :raises ParameterError: an unacceptable passphrase or parameters.
        """
        check_new_passphrase(passphrase)
        secret = await derive_passphrase(passphrase, KdfSpec.fresh(params, test_salt))
        record = self.record
        record["kdf"] = secret.spec.to_json()
        record["account_key"] = await seal_key(
            secret.wrap_key, self._account_key, _aad(ACCOUNT_KEY_AAD, self.account_id)
        )
        self._record = record
        return Enrolment(secret.auth_secret, self.record)

    async def create_recovery(
        self,
        *,
        params: kdf.Argon2Params = kdf.DEFAULT,
        test_code: str | None = None,
        test_salt: bytes | None = None,
    ) -> Recovery:
        """A fresh recovery code sealing the account key (replacing any
        earlier one in the record).

        :param test_code: inject the code (tests only); random otherwise.
        """
        code = test_code or kdf.generate_code(RECOVERY_CODE_LENGTH)
        secret = await derive_recovery(code, KdfSpec.fresh(params, test_salt))
        record = self.record
        record["recovery"] = {
            "kdf": secret.spec.to_json(),
            "account_key": await seal_key(
                secret.wrap_key,
                self._account_key,
                _aad(RECOVERY_KEY_AAD, self.account_id),
            ),
        }
        self._record = record
        return Recovery(code, secret.auth_secret, self.record)

    async def add_key_pair(self, suite: str) -> dict[str, Any] | None:
        """Give the account a key pair of ``suite`` (say, the P-256 fallback).

        :returns: None if it has one already; otherwise the updated record
            to store (the auth secret does not change).
        """
        if any(pair.public.suite == suite for pair in self.key_pairs):
            return None
        pair = await keys.KeyPair.generate(suite)
        record = self.record
        record["keys"].append(await _seal_private(self._account_key, pair))
        self.key_pairs = (*self.key_pairs, pair)
        self._record = record
        return self.record


async def _private_key_wrap(account_key: bytes) -> Any:
    key = await backend().hkdf_sha256(
        account_key, salt=b"", info=PRIVATE_KEY_LABEL, length=SECRET_SIZE
    )
    return await backend().import_aes_gcm_key(key)


def _private_aad(public: keys.PublicKey) -> bytes:
    return PRIVATE_KEY_LABEL + b"\x00" + public.hpke_suite.encoded + public.key


async def _seal_private(account_key: bytes, pair: keys.KeyPair) -> dict[str, str]:
    sealed = await seal_key(
        await _private_key_wrap(account_key), pair.private, _private_aad(pair.public)
    )
    return {**pair.public.to_json(), "private": sealed}


async def _open_private(account_key: bytes, entry: object) -> keys.KeyPair:
    if not isinstance(entry, dict) or set(entry) != {"suite", "key", "private"}:
        raise FormatError("account record: bad key entry")
    public = keys.PublicKey.from_json({"suite": entry["suite"], "key": entry["key"]})
    private = await open_key(
        await _private_key_wrap(account_key),
        entry["private"],
        _private_aad(public),
        keys.PRIVATE_KEY_SIZE,
    )
    try:
        pair = await keys.KeyPair.from_private(public.suite, private)
    except ParameterError:
        raise DecryptionError() from None
    # The stored public key is bound by the AAD; recomputing it from the
    # private key catches a record whose two halves do not belong together.
    if pair.public != public:
        raise DecryptionError()
    return pair


def _copy_record(record: dict[str, Any]) -> dict[str, Any]:
    copy = dict(record)
    copy["kdf"] = dict(record["kdf"])
    copy["keys"] = [dict(entry) for entry in record["keys"]]
    if "recovery" in record:
        copy["recovery"] = {
            "kdf": dict(record["recovery"]["kdf"]),
            "account_key": record["recovery"]["account_key"],
        }
    return copy


async def create(
    account_id: str,
    passphrase: str,
    *,
    params: kdf.Argon2Params = kdf.DEFAULT,
    suites: tuple[str, ...] = (keys.SUITE_X25519,),
    test_salt: bytes | None = None,
) -> tuple[Account, Enrolment]:
    """A new account: fresh account key and one key pair per suite.

    :raises ParameterError: a bad account id, passphrase, parameters or suite.
    """
    account_id = _check_account_id(account_id)
    check_new_passphrase(passphrase)
    if not suites or len(set(suites)) != len(suites):
        raise ParameterError("suites: expected distinct suite names")
    pairs = [await keys.KeyPair.generate(suite) for suite in suites]
    account_key = backend().random_bytes(ACCOUNT_KEY_SIZE)

    secret = await derive_passphrase(passphrase, KdfSpec.fresh(params, test_salt))
    record: dict[str, Any] = {
        "v": RECORD_VERSION,
        "kdf": secret.spec.to_json(),
        "account_key": await seal_key(
            secret.wrap_key, account_key, _aad(ACCOUNT_KEY_AAD, account_id)
        ),
        "keys": [await _seal_private(account_key, pair) for pair in pairs],
    }
    account = Account(account_id, account_key, pairs, record)
    return account, Enrolment(secret.auth_secret, account.record)


def _check_record(record: object) -> dict[str, Any]:
    if not isinstance(record, dict) or "v" not in record:
        raise FormatError("account record: missing version")
    # type() first: JSON true must not pass as version 1.
    if type(record["v"]) is not int or record["v"] != RECORD_VERSION:
        raise FormatError("account record: unsupported version")
    if not _RECORD_KEYS <= set(record) <= _RECORD_KEYS | {"recovery"}:
        raise FormatError("account record: wrong keys")
    entries = record["keys"]
    if not isinstance(entries, list) or not 1 <= len(entries) <= len(keys.SUITES):
        raise FormatError("account record: bad keys")
    if not all(isinstance(entry, dict) for entry in entries):
        raise FormatError("account record: bad keys")
    recovery = record.get("recovery", {"kdf": {}, "account_key": ""})
    if not isinstance(recovery, dict) or set(recovery) != {"kdf", "account_key"}:
        raise FormatError("account record: bad recovery")
    if not isinstance(record["kdf"], dict) or not isinstance(recovery["kdf"], dict):
        raise FormatError("account record: bad kdf")
    return record


async def _unlocked(
    account_id: str, record: dict[str, Any], account_key: bytes
) -> Account:
    pairs = []
    unusable: BackendError | None = None
    for entry in record["keys"]:
        try:
            pairs.append(await _open_private(account_key, entry))
        except BackendError as exc:
            # The platform lacks this suite (X25519 in an older browser).
            # The key was authenticated before the platform was asked, so
            # this is no tampering: the account's other key serves here.
            unusable = exc
    if not pairs and unusable is not None:
        raise unusable
    suites = [entry["suite"] for entry in record["keys"]]
    if len(set(suites)) != len(suites):
        raise FormatError("account record: two keys of one suite")
    return Account(account_id, account_key, pairs, _copy_record(record))


async def unlock(account_id: str, secret: SecretKeys, record: object) -> Account:
    """Open an account record with a derived passphrase secret.

    The secret comes from :func:`derive_passphrase` with the record's own
    ``kdf`` (its public part, which the server serves before login).

    :raises FormatError: a malformed record.
    :raises DecryptionError: wrong passphrase, another account's record, or
        any modification of a sealed key (one error for all).
    """
    account_id = _check_account_id(account_id)
    checked = _check_record(record)
    if KdfSpec.from_json(checked["kdf"]) != secret.spec:
        raise DecryptionError()

    account_key = await open_key(
        secret.wrap_key,
        checked["account_key"],
        _aad(ACCOUNT_KEY_AAD, account_id),
        ACCOUNT_KEY_SIZE,
    )
    return await _unlocked(account_id, checked, account_key)


async def recover(account_id: str, code: str, record: object) -> Account:
    """Open an account record with its recovery code (then set a new
    passphrase with :meth:`Account.change_passphrase`).

    :raises FormatError: a malformed record, or one without recovery.
    :raises DecryptionError: wrong code or any modification.
    """
    account_id = _check_account_id(account_id)
    checked = _check_record(record)
    if "recovery" not in checked:
        raise FormatError("account record: no recovery code")
    spec = KdfSpec.from_json(checked["recovery"]["kdf"])
    secret = await derive_recovery(code, spec)

    account_key = await open_key(
        secret.wrap_key,
        checked["recovery"]["account_key"],
        _aad(RECOVERY_KEY_AAD, account_id),
        ACCOUNT_KEY_SIZE,
    )
    return await _unlocked(account_id, checked, account_key)


def public_record(record: dict[str, Any]) -> dict[str, Any]:
    """The part of a record anyone may see: public keys (an address book)."""
    checked = _check_record(record)
    return {"keys": [{"suite": e["suite"], "key": e["key"]} for e in checked["keys"]]}
