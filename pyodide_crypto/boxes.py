"""Box keys: a departmental drop box's key pair, sealed to each member.

A box has one key pair per *version*. Depositors seal shares to the current
public key (an HPKE stanza, hpke_stanza.py); each member gets a *grant*, the
box private key HPKE-sealed to the member's own public key:

    info  = "sealpost.v1/box-key" || 0x00 || box suite || u32be(version)
            || box public key || box id (UTF-8)
    grant = enc || HPKE-Seal(member key, info, aad = "", box private key)

Removing a member means a new version (:func:`rotate`), granted to the
others only: deposits sealed to the new key are out of the removed member's
reach; whatever they could open before stays opened. Sans-IO: records are
small JSON-able dicts of base64url strings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from . import hpke, keys
from .encoding import b64url_decode, b64url_encode
from .errors import DecryptionError, FormatError, ParameterError
from .hpke_stanza import HpkeIdentity

BOX_KEY_LABEL = b"sealpost.v1/box-key"
MAX_BOX_ID_BYTES = 256
MAX_VERSION = 0xFFFFFFFF
MAX_MEMBERS = 1000
_GRANT_KEYS = frozenset({"member", "sealed"})
_RECORD_KEYS = frozenset({"version", "public", "grants"})


@dataclass(frozen=True)
class BoxKey:
    """One version of a box's key pair, opened (in memory only)."""

    box_id: str
    version: int
    key_pair: keys.KeyPair

    @property
    def public(self) -> keys.PublicKey:
        return self.key_pair.public

    def identity(self) -> HpkeIdentity:
        """The identity that opens deposits sealed to this version."""
        return HpkeIdentity(self.key_pair)


def _check_box(box_id: object, version: object) -> tuple[str, int]:
    if not isinstance(box_id, str) or not box_id:
        raise ParameterError("box id: expected a non-empty string")
    if len(box_id.encode("utf-8", "surrogatepass")) > MAX_BOX_ID_BYTES:
        raise ParameterError(f"box id: over {MAX_BOX_ID_BYTES} bytes")
    if type(version) is not int or not 1 <= version <= MAX_VERSION:
        raise ParameterError("box key version: expected 1 to 2**32 - 1")
    return box_id, version


def _info(box_id: str, version: int, public: keys.PublicKey) -> bytes:
    return (
        BOX_KEY_LABEL
        + b"\x00"
        + public.hpke_suite.encoded
        + version.to_bytes(4, "big")
        + public.key
        + box_id.encode("utf-8")
    )


async def grant(
    box_key: BoxKey, member: keys.PublicKey, *, test_ikm: bytes | None = None
) -> dict[str, str]:
    """Seal the box private key to a member: ``{"member", "sealed"}``.

    ``member`` is the member key's id (b64url, 8 bytes), so a member finds
    their grant; ``sealed`` is ``b64url(enc || ciphertext)``.

    :param test_ikm: the HPKE ephemeral seed (tests only).
    :raises ParameterError: not a public key, or an unusable one.
    """
    if not isinstance(member, keys.PublicKey):
        raise ParameterError("member: expected a keys.PublicKey")
    info = _info(box_key.box_id, box_key.version, box_key.public)
    enc, sealed = await hpke.seal(
        member.hpke_suite,
        member.key,
        info,
        b"",
        box_key.key_pair.private,
        test_ikm=test_ikm,
    )
    return {
        "member": b64url_encode(await keys.key_id(member)),
        "sealed": b64url_encode(enc + sealed),
    }


async def create(
    box_id: str,
    members: Sequence[keys.PublicKey],
    *,
    version: int = 1,
    suite: str = keys.SUITE_X25519,
) -> tuple[BoxKey, dict[str, Any]]:
    """A fresh box key pair of ``version``, granted to every member.

    :returns: the key (in memory) and its record for the server:
        ``{"version", "public": {"suite", "key"}, "grants": [...]}``.
    :raises ParameterError: a bad id or version, no member, too many, or a
        member given twice.
    """
    box_id, version = _check_box(box_id, version)
    members = list(members)
    if not 1 <= len(members) <= MAX_MEMBERS:
        raise ParameterError(f"members: expected 1 to {MAX_MEMBERS}")
    if len(set(members)) != len(members):
        raise ParameterError("members: a key is given twice")

    box_key = BoxKey(box_id, version, await keys.KeyPair.generate(suite))
    grants = [await grant(box_key, member) for member in members]
    record = {
        "version": version,
        "public": box_key.public.to_json(),
        "grants": grants,
    }
    return box_key, record


async def rotate(
    current: BoxKey, members: Sequence[keys.PublicKey]
) -> tuple[BoxKey, dict[str, Any]]:
    """The next version of a box key, granted to ``members`` only.

    :raises ParameterError: see :func:`create`, or no version left.
    """
    return await create(
        current.box_id,
        members,
        version=current.version + 1,
        suite=current.public.suite,
    )


async def open_record(
    box_id: str, record: object, key_pairs: Sequence[keys.KeyPair]
) -> BoxKey:
    """Open a box key record with one of a member's key pairs.

    The grant is found by key id; the box public key is recomputed from the
    opened private key and must equal the record's.

    :raises FormatError: a malformed record.
    :raises DecryptionError: no grant for these keys, or one that does not
        open (modified, another box or version, a swapped public key).
    """
    if not isinstance(record, dict) or set(record) != _RECORD_KEYS:
        raise FormatError("box record: wrong keys")
    grants = record["grants"]
    if not isinstance(grants, list) or len(grants) > MAX_MEMBERS:
        raise FormatError("box record: bad grants")
    return await open_grant(
        box_id, record["version"], record["public"], grants, key_pairs
    )


async def open_grant(
    box_id: str,
    version: object,
    public: object,
    grants: Sequence[object],
    key_pairs: Sequence[keys.KeyPair],
) -> BoxKey:
    """Open one version of a box key from the grants a member was given.

    For servers that hand a member only their own grants, version by
    version: ``public`` is the version's public key (``{"suite", "key"}``),
    ``grants`` the member's grant objects of that version.

    :raises FormatError: a malformed version, public key or grant.
    :raises DecryptionError: see :func:`open_record`.
    """
    if type(version) is not int or not 1 <= version <= MAX_VERSION:
        raise FormatError("box record: bad version")
    box_id, _ = _check_box(box_id, version)
    box_public = keys.PublicKey.from_json(public)
    for entry in grants:
        if not isinstance(entry, dict) or set(entry) != _GRANT_KEYS:
            raise FormatError("box record: bad grant")
        if not isinstance(entry["member"], str):
            raise FormatError("box record: bad grant")

    for pair in key_pairs:
        member_id = b64url_encode(await keys.key_id(pair.public))
        for entry in grants:
            assert isinstance(entry, dict)  # checked above
            if entry["member"] != member_id:
                continue
            try:
                return await _open_one(box_id, version, box_public, entry, pair)
            except DecryptionError:
                continue
    raise DecryptionError()


async def _open_one(
    box_id: str,
    version: int,
    public: keys.PublicKey,
    entry: dict[str, Any],
    pair: keys.KeyPair,
) -> BoxKey:
    suite = pair.public.hpke_suite
    if not isinstance(entry["sealed"], str):
        raise FormatError("box record: bad grant")
    sealed = b64url_decode(entry["sealed"])
    # Exact size before any DH: enc, then the 32-byte key and its tag.
    if len(sealed) != suite.enc_size + keys.PRIVATE_KEY_SIZE + 16:
        raise DecryptionError()

    private = await hpke.open(
        suite,
        pair.private,
        sealed[: suite.enc_size],
        _info(box_id, version, public),
        b"",
        sealed[suite.enc_size :],
    )
    try:
        box_pair = await keys.KeyPair.from_private(public.suite, private)
    except ParameterError:
        raise DecryptionError() from None
    if box_pair.public != public:
        raise DecryptionError()
    return BoxKey(box_id, version, box_pair)
