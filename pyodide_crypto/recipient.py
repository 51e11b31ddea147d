"""The recipient side of a share, without any I/O.

Opens an envelope with a link secret, a code, or private keys, then hands
out the manifest, the claim proof and per-file decryptors. See
docs/format.md.
"""

from __future__ import annotations

from collections.abc import Sequence

from . import chunked, codes, envelope, hpke_stanza, keys, manifest
from .errors import FormatError, ParameterError
from .manifest import Manifest, ManifestFile
from .sharekeys import (
    LINK_SECRET_SIZE,
    derive_claim_key,
    exact,
    file_context,
    parse_fragment,
)


class ShareRecipient:
    """An opened share: the manifest, the claim proof and file decryptors.

    Create it with :meth:`open` (link secret, code), :meth:`open_fragment`,
    :meth:`open_with_keys` (private keys) or :meth:`open_with` (any
    identities).
    """

    def __init__(
        self, *, manifest: Manifest, claim_proof: bytes, header_hash: bytes
    ) -> None:
        """Use :meth:`open` instead."""
        self.manifest = manifest
        self.claim_proof = claim_proof
        self.header_hash = header_hash

    @classmethod
    async def open(
        cls,
        link_secret: bytes,
        envelope_bytes: bytes,
        *,
        code_secret: codes.CodeSecret | None = None,
    ) -> ShareRecipient:
        """Open an envelope with the link secret (and the code, if it has one).

        :param code_secret: for a code share, derived from the same link
            secret and the code the person typed
            (:meth:`codes.CodeSecret.derive`); it also gave the unlock proof
            the server wanted before serving the envelope.

        :raises ParameterError: the link secret is not 32 bytes.
        :raises FormatError: the envelope is structurally invalid (checked
            before any decryption), or the decrypted manifest is invalid.
        :raises DecryptionError: wrong link secret or any modification of the
            header or the manifest ciphertext.
        """
        identity: envelope.Identity = envelope.LinkIdentity(
            exact(link_secret, "link secret", LINK_SECRET_SIZE)
        )
        if code_secret is not None:
            identity = codes.CodeIdentity(code_secret)
        return await cls.open_with(envelope_bytes, [identity])

    @classmethod
    async def open_with_keys(
        cls, envelope_bytes: bytes, key_pairs: Sequence[keys.KeyPair]
    ) -> ShareRecipient:
        """Open an envelope with private keys (an account's, a box's).

        Each key pair opens the HPKE stanza carrying its key id, if any.

        :raises FormatError: see :meth:`open`.
        :raises DecryptionError: no stanza is for these keys, or any
            modification.
        """
        identities = [hpke_stanza.HpkeIdentity(pair) for pair in key_pairs]
        return await cls.open_with(envelope_bytes, identities)

    @classmethod
    async def open_with(
        cls, envelope_bytes: bytes, identities: Sequence[envelope.Identity]
    ) -> ShareRecipient:
        """Open an envelope with any identities (link, code, HPKE).

        :raises FormatError: see :meth:`open`.
        :raises DecryptionError: no identity opens a stanza, or any
            modification of the header or the manifest ciphertext.
        """
        if not identities:
            raise ParameterError("open_with: expected at least one identity")
        header, ciphertext = envelope.split_envelope(bytes(envelope_bytes))
        # Bounded before any key is derived: a hostile size costs us nothing.
        if chunked.plaintext_size(len(ciphertext)) > manifest.MAX_PLAINTEXT_SIZE:
            raise FormatError("manifest: too large")

        share_key = await envelope.unwrap_share_key(header, identities)
        digest = await envelope.header_hash(header.raw)
        document = await manifest.decrypt(share_key, digest, ciphertext)
        claim_proof = await derive_claim_key(share_key)

        return cls(manifest=document, claim_proof=claim_proof, header_hash=digest)

    @classmethod
    async def open_fragment(
        cls, fragment: str, envelope_bytes: bytes
    ) -> ShareRecipient:
        """Like :meth:`open`, taking the URL fragment text (a JS convenience).

        :raises FormatError: the fragment is invalid, see :func:`parse_fragment`.
        """
        return await cls.open(parse_fragment(fragment), envelope_bytes)

    def ciphertext_size(self, index: int) -> int:
        """The ciphertext size file ``index`` must have on the server."""
        return chunked.ciphertext_size(self._file(index).size)

    def check_ciphertext_sizes(self, sizes: Sequence[int]) -> None:
        """Check the server's file list against the manifest before download.

        :param sizes: the ciphertext size the server reports for each index.
        :raises FormatError: the server lists another number of files, or a
            size that is not the one the manifest's plaintext size implies.
        """
        files = self.manifest.files
        if len(sizes) != len(files):
            raise FormatError(
                f"share: the server lists {len(sizes)} files, the manifest {len(files)}"
            )
        for index, size in enumerate(sizes):
            if size != chunked.ciphertext_size(files[index].size):
                raise FormatError(f"share: file {index} has the wrong size")

    async def file_decryptor(self, index: int, header: bytes) -> chunked.Decryptor:
        """A decryptor for file ``index`` given its 56-byte chunked header.

        :raises ParameterError: no such file.
        :raises DecryptionError: the header does not belong to this file of
            this share (wrong blob, blob of another share, modified header).
        """
        entry = self._file(index)
        context = file_context(self.header_hash, index)
        return await chunked.Decryptor.create(entry.key, context, bytes(header))

    def _file(self, index: int) -> ManifestFile:
        if type(index) is not int or not 0 <= index < len(self.manifest.files):
            raise ParameterError(f"file index: no file {index!r}")
        return self.manifest.files[index]
