"""Which HPKE suite to use on this platform, and so which recipient key.

Browsers gained WebCrypto X25519 only recently; P-256 ECDH is everywhere.
A client probes once which suites its platform can really use
(:class:`Platform`), makes new keys in the first of them, and encrypts to
each recipient's key in the first suite of :data:`SUITE_PREFERENCE` that
both have. docs/keys.md section 1 describes the rule.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from . import keys
from .errors import BackendError, ParameterError
from .runtime import backend

#: Suites in the order a sender prefers them: the fallback comes last.
SUITE_PREFERENCE = (keys.SUITE_X25519, keys.SUITE_P256)


class UnsupportedSuiteError(ParameterError):
    """A recipient has no key in a suite this platform can encrypt to."""


def choose_key(
    found: Sequence[keys.PublicKey], supported: Sequence[str]
) -> keys.PublicKey | None:
    """The recipient's key in the first preferred suite the platform
    supports, or None when it has no such key."""
    for suite in SUITE_PREFERENCE:
        if suite not in supported:
            continue
        for key in found:
            if key.suite == suite:
                return key
    return None


async def suite_works(suite: str) -> bool:
    """Whether the platform can generate, import and use keys of ``suite``.

    :raises ParameterError: an unknown suite.
    """
    curve = keys.SUITES[suite].curve if suite in keys.SUITES else ""
    if not curve:
        raise ParameterError(f"key suite must be one of {sorted(keys.SUITES)}")

    # Every platform call HPKE makes with this curve: key generation,
    # private and public key import, and the DH itself. A browser without
    # the algorithm refuses it (NotSupportedError, a BackendError here).
    try:
        pair = await keys.KeyPair.generate(suite)
        await backend().dh(curve, pair.private, pair.public.key)
    except (BackendError, ParameterError):
        return False
    return True


class Platform:
    """The suites this platform supports, probed on first use and then
    remembered: a property of the browser, the same for a worker's life.
    No key is kept."""

    def __init__(self, probe: Callable[[str], Awaitable[bool]] = suite_works) -> None:
        """:param probe: tells whether a suite works (a seam for tests)."""
        self._probe = probe
        self._suites: tuple[str, ...] | None = None

    async def suites(self) -> tuple[str, ...]:
        """The usable suites, in preference order.

        :raises BackendError: none is usable.
        """
        if self._suites is None:
            self._suites = tuple([s for s in SUITE_PREFERENCE if await self._probe(s)])
        if not self._suites:
            raise BackendError("no key suite works on this platform")
        return self._suites

    async def preferred_suite(self) -> str:
        """The suite new key pairs (boxes, reply boxes) are made in."""
        return (await self.suites())[0]

    async def key_for(self, found: Sequence[keys.PublicKey]) -> keys.PublicKey:
        """The key of ``found`` a sender here encrypts to.

        :raises UnsupportedSuiteError: none of them is usable here.
        """
        chosen = choose_key(found, await self.suites())
        if chosen is None:
            raise UnsupportedSuiteError("recipient: no key in a supported suite")
        return chosen

    async def shown_key(self, found: Sequence[keys.PublicKey]) -> keys.PublicKey:
        """The key whose fingerprint is shown: the one a send would use, or
        the first when none is usable (the send then says why it cannot)."""
        return choose_key(found, await self.suites()) or found[0]
