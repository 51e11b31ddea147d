"""The second-channel code on the receiving side of ``sealpost get``.

A code share publishes its KDF description (``GET /api/shares/{id}`` answers
``code: {kdf, m, t, p, salt, attempts_left}``). The parameters come from the
server, so they are checked against the accepted floor and ceiling before
any derivation: a hostile server must not get a weak Argon2id run out of us,
nor stall the machine with a huge one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pyodide_crypto import codes, kdf
from pyodide_crypto.encoding import b64url_decode
from pyodide_crypto.errors import FormatError, ParameterError

from .api import CODE_REQUIRED
from .errors import BadLinkError, CliError

#: Asks the person for the code (``getpass`` at a terminal).
AskCode = Callable[[], str]


async def derive(
    link_secret: bytes,
    published: Any,
    code: str | None,
    ask: AskCode | None,
) -> codes.CodeSecret:
    """The code secret for this share, from the code given or asked for.

    The code text goes to pyodide_crypto as typed: normalisation (case,
    spaces, hyphens, Unicode forms) happens there, the same as in the
    browser.

    :raises BadLinkError: no code and no way to ask, a code that cannot be a
        code, or KDF parameters outside the accepted range.
    :raises CliError: the server described the code in a way we cannot read.
    """
    salt, params = _parse(published)
    if code is None:
        if ask is None:
            raise BadLinkError(CODE_REQUIRED)
        code = ask()
    try:
        kdf.normalize_code(code)
    except ParameterError as exc:
        raise BadLinkError(f"this is not a valid code: {exc}") from None

    return await codes.CodeSecret.derive(link_secret, code, salt=salt, params=params)


def _parse(published: Any) -> tuple[bytes, kdf.Argon2Params]:
    unexpected = CliError("the server described the share's code in an unknown way")
    if not isinstance(published, dict) or published.get("kdf") != "argon2id":
        raise unexpected
    try:
        params = kdf.Argon2Params.from_json(
            {name: published.get(name) for name in ("m", "t", "p")}
        )
    except ParameterError as exc:
        raise BadLinkError(
            f"refusing this share: its code settings are unsafe ({exc})"
        ) from None
    salt = published.get("salt")
    if not isinstance(salt, str):
        raise unexpected
    try:
        return b64url_decode(salt, length=kdf.SALT_SIZE), params
    except FormatError:
        raise unexpected from None
