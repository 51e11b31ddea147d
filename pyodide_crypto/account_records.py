"""An account record in the server's stored form, and back.

The server keeps an account's key material as four opaque values (see
docs/api-accounts.md): the public KDF description, the sealed account key,
the public keys (its address book entry) and the sealed private keys. It
shows the public keys to others and everything to the account's own
sessions. This module is the one place that splits a record from
:mod:`pyodide_crypto.accounts` into those values and joins them again, so
the browser and the command line store identical bytes.
"""

from __future__ import annotations

from typing import Any

from . import accounts
from .errors import FormatError


def split(record: dict[str, Any]) -> dict[str, Any]:
    """The server's fields ``kdf``, ``account_key``, ``public_key`` and
    ``private_key`` for an account record.

    :raises FormatError: a malformed record.
    """
    public = accounts.public_record(record)
    sealed: dict[str, Any] = {"v": record["v"], "account_key": record["account_key"]}
    if "recovery" in record:
        sealed["recovery"] = record["recovery"]
    return {
        "kdf": record["kdf"],
        "account_key": sealed,
        "public_key": public,
        "private_key": {"keys": record["keys"]},
    }


def join(stored: dict[str, Any]) -> dict[str, Any]:
    """The account record from the server's fields (as in ``/api/me``).

    Only shape is checked here; :func:`pyodide_crypto.accounts.unlock`
    checks the record and authenticates every sealed value. The public keys
    the server lists are checked against the sealed private keys when the
    record is unlocked, so a server that swaps them is caught there.

    :raises FormatError: a field is missing or not of the stored shape.
    """
    sealed = stored.get("account_key")
    private = stored.get("private_key")
    kdf = stored.get("kdf")
    if not isinstance(sealed, dict) or not isinstance(private, dict):
        raise FormatError("account record: bad stored form")
    if not isinstance(kdf, dict) or set(private) != {"keys"}:
        raise FormatError("account record: bad stored form")
    if not {"v", "account_key"} <= set(sealed) <= {"v", "account_key", "recovery"}:
        raise FormatError("account record: bad stored form")
    record = {**sealed, "kdf": kdf, "keys": private["keys"]}
    public = stored.get("public_key")
    if public is not None and public != accounts.public_record(record):
        raise FormatError("account record: public keys do not match")
    return record
