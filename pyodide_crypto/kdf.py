"""Second-channel codes: normalisation, generation and Argon2id derivation.

A code is something a person reads over the phone or types from a letter, so
two spellings that a person cannot tell apart must derive the same key:
see :func:`normalize_code`. The code goes through Argon2id (RFC 9106) with
parameters that travel with the share; a client refuses parameters outside
[:data:`FLOOR`, :data:`CEILING`], so a hostile server or sender cannot make a
recipient's browser do a weak derivation or an unbounded one.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from . import runtime
from .errors import CodeError, ParameterError

#: Argon2 salt size we use (RFC 9106 recommends 16 bytes).
SALT_SIZE = 16
#: Output size of the derivation.
OUTPUT_SIZE = 32

#: Crockford-style alphabet without 0/O, 1/I/L and U: nothing a listener can
#: confuse, nothing that reads as a word.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
#: 10 symbols of 30 carry 49 bits; with online guessing bounded by the server
#: and offline guessing needing the link secret too, that is ample.
CODE_LENGTH = 10
CODE_GROUP = 5
#: Longest code a sender may type, in bytes after normalisation.
MAX_CODE_BYTES = 256

#: Characters ignored anywhere in a code: whitespace, and hyphens that
#: people insert (or read aloud as separators) between groups.
_IGNORED = frozenset("-\u2010\u2011\u2012\u2013\u2014\u2212")


@dataclass(frozen=True, slots=True)
class Argon2Params:
    """Argon2id version 0x13 cost parameters."""

    memory_kib: int
    iterations: int
    parallelism: int

    def to_json(self) -> dict[str, int]:
        return {"m": self.memory_kib, "t": self.iterations, "p": self.parallelism}

    @classmethod
    def from_json(cls, value: object) -> Argon2Params:
        """Parse ``{"m", "t", "p"}`` and check it against the floor and ceiling."""
        if not isinstance(value, dict) or set(value) != {"m", "t", "p"}:
            raise ParameterError("KDF parameters must be an object with m, t, p")
        fields = [value["m"], value["t"], value["p"]]
        if not all(type(v) is int for v in fields):
            raise ParameterError("KDF parameters must be integers")
        params = cls(*fields)
        check_params(params)
        return params


#: RFC 9106's second recommended option (64 MiB, t=3), with p=1 because the
#: browser's WebAssembly Argon2id runs on one thread: more lanes would cost
#: the same time there and buy an attacker's GPU nothing.
DEFAULT = Argon2Params(memory_kib=64 * 1024, iterations=3, parallelism=1)
#: OWASP's minimum for Argon2id (19 MiB, t=2). Below it, a recipient refuses.
FLOOR = Argon2Params(memory_kib=19 * 1024, iterations=2, parallelism=1)
#: Beyond this a phone's browser would stall or crash, so it is refused too.
CEILING = Argon2Params(memory_kib=1024 * 1024, iterations=10, parallelism=4)


def check_params(params: Argon2Params) -> None:
    """Refuse parameters below :data:`FLOOR` or above :data:`CEILING`.

    :raises ParameterError: with which bound was crossed.
    """
    for name in ("memory_kib", "iterations", "parallelism"):
        value = getattr(params, name)
        low, high = getattr(FLOOR, name), getattr(CEILING, name)
        if not low <= value <= high:
            raise ParameterError(
                f"KDF parameter {name}={value} is outside the accepted "
                f"range {low}..{high}"
            )


def normalize_code(code: str) -> bytes:
    """The bytes a code stands for; the same everywhere (browser and CLI).

    NFKC folds compatibility forms (full-width digits, ligatures) and composes
    accents, so ``e`` + U+0301 equals ``é``; case folding makes codes
    case-insensitive; whitespace and hyphens are dropped wherever they are,
    so ``abcde-fghjk`` and `` ABCDE FGHJK `` are one code. Accents stay
    significant: ``été`` and ``ete`` are different codes.

    :raises CodeError: nothing is left, a control or unassigned character,
        or the code is too long.
    :raises ParameterError: ``code`` is not text.
    """
    if not isinstance(code, str):
        raise ParameterError("the code must be text")
    # NFKC again after casefold: folding can produce decomposed sequences.
    folded = unicodedata.normalize(
        "NFKC", unicodedata.normalize("NFKC", code).casefold()
    )
    kept = "".join(c for c in folded if not c.isspace() and c not in _IGNORED)
    if not kept:
        raise CodeError("empty", "the code is empty")
    if any(unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Cn") for c in kept):
        raise CodeError(
            "character", "the code contains a control or unassigned character"
        )
    data = kept.encode("utf-8")
    if len(data) > MAX_CODE_BYTES:
        raise CodeError("too_long", f"the code is longer than {MAX_CODE_BYTES} bytes")
    return data


def generate_code(length: int = CODE_LENGTH) -> str:
    """A random code of ``length`` symbols, in groups of five for reading.

    :raises ParameterError: ``length`` is not a positive multiple of 5.
    """
    if type(length) is not int or length <= 0 or length % CODE_GROUP:
        raise ParameterError(f"code length must be a multiple of {CODE_GROUP}")
    symbols: list[str] = []
    base = len(CODE_ALPHABET)
    # Rejection sampling: 240 is the largest multiple of 30 below 256, so
    # every symbol is exactly equally likely.
    limit = 256 - 256 % base
    while len(symbols) < length:
        for byte in runtime.backend().random_bytes(2 * length):
            if byte < limit and len(symbols) < length:
                symbols.append(CODE_ALPHABET[byte % base])
    text = "".join(symbols)
    return "-".join(text[i : i + CODE_GROUP] for i in range(0, length, CODE_GROUP))


async def derive(code: str, salt: bytes, params: Argon2Params) -> bytes:
    """Argon2id(normalised code, salt) with ``params``; 32 bytes.

    :raises ParameterError: the parameters are out of bounds, the salt is not
        16 bytes or the code is not acceptable.
    """
    check_params(params)
    return await stretch(normalize_code(code), salt, params)


async def stretch(secret: bytes, salt: bytes, params: Argon2Params) -> bytes:
    """Argon2id(secret, salt) with ``params``; 32 bytes.

    The parameters are checked against the floor and ceiling, and the salt's
    size, before any work.

    :raises ParameterError: parameters out of bounds, a salt that is not 16
        bytes, or an empty secret.
    """
    check_params(params)
    if not isinstance(salt, bytes) or len(salt) != SALT_SIZE:
        raise ParameterError(f"the KDF salt must be {SALT_SIZE} bytes")
    if not isinstance(secret, bytes) or not secret:
        raise ParameterError("the KDF secret must be non-empty bytes")
    return await runtime.backend().argon2id(
        secret,
        salt,
        memory_kib=params.memory_kib,
        iterations=params.iterations,
        parallelism=params.parallelism,
        length=OUTPUT_SIZE,
    )
