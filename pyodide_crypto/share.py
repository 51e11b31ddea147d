"""Sender and recipient state for a whole share, without any I/O.

The sender picks a share key, wraps it in the envelope header for the link
recipient, gives each file its own key and encrypts the files and then the
manifest; the recipient reverses that from the link secret and the envelope.
The caller moves the bytes (browser worker or CLI). See docs/format.md.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

from . import chunked, envelope, manifest
from .encoding import b64url_decode, b64url_encode
from .errors import FormatError, ParameterError
from .manifest import Manifest, ManifestFile
from .runtime import backend

SHARE_KEY_SIZE = envelope.SHARE_KEY_SIZE
LINK_SECRET_SIZE = envelope.LINK_SECRET_SIZE
FILE_KEY_SIZE = manifest.FILE_KEY_SIZE
CLAIM_LABEL = b"sealpost.v1/claim"
FILE_LABEL = b"sealpost.v1/file"
#: 43 characters: 32 bytes of base64url without padding.
FRAGMENT_LENGTH = 43

RandomBytes = Callable[[int], bytes]


def parse_fragment(fragment: str) -> bytes:
    """Return the link secret spelled by a URL fragment.

    :param fragment: the fragment, with or without its leading ``#``.
    :raises FormatError: not exactly 43 characters of canonical base64url.
    """
    if not isinstance(fragment, str):
        raise FormatError("invalid link: fragment is not text")
    text = fragment.removeprefix("#")
    if len(text) != FRAGMENT_LENGTH:
        raise FormatError("invalid link: wrong fragment length")
    return b64url_decode(text, length=LINK_SECRET_SIZE)


def file_context(header_hash: bytes, index: int) -> bytes:
    """Chunked-encryption context of file ``index`` of the share ``header_hash``.

    :raises ParameterError: a hash that is not 32 bytes or an index outside u32.
    """
    if len(header_hash) != 32:
        raise ParameterError(f"header hash: expected 32 bytes, got {len(header_hash)}")
    if not 0 <= index <= 0xFFFFFFFF:
        raise ParameterError(f"file index: expected a u32, got {index}")
    return FILE_LABEL + b"\x00" + bytes(header_hash) + index.to_bytes(4, "big")


async def derive_claim_key(share_key: bytes) -> bytes:
    """Derive the claim key CK, the proof a recipient sends to claim a download."""
    return await backend().hkdf_sha256(
        bytes(share_key), salt=b"", info=CLAIM_LABEL, length=32
    )


def _check_key(value: bytes, what: str, size: int) -> bytes:
    if not isinstance(value, bytes | bytearray | memoryview) or len(value) != size:
        raise ParameterError(f"{what}: expected {size} bytes")
    return bytes(value)


class ShareSender:
    """Builds one share: the header, the file encryptors and the manifest.

    Create it with :meth:`create`. Order of use: :meth:`add_file` for each
    file, :meth:`seal_header`, :meth:`file_encryptor` per file, then
    :meth:`seal_manifest` once.
    """

    def __init__(
        self,
        *,
        link_secret: bytes,
        share_key: bytes,
        claim_verifier: bytes,
        random_bytes: RandomBytes,
    ) -> None:
        """Use :meth:`create` instead (it derives the claim verifier)."""
        self.link_secret = link_secret
        self.claim_verifier = claim_verifier
        self._share_key = share_key
        self._random_bytes = random_bytes
        self._files: list[ManifestFile] = []
        self._header: bytes | None = None
        self._header_hash: bytes | None = None
        self._sealed = False

    @classmethod
    async def create(
        cls,
        *,
        link_secret: bytes | None = None,
        share_key: bytes | None = None,
        random_bytes: RandomBytes | None = None,
    ) -> ShareSender:
        """Start a share with fresh secrets.

        :param link_secret: inject the 32-byte link secret (tests); random
            otherwise.
        :param share_key: inject the 32-byte share key (tests); random otherwise.
        :param random_bytes: a seam for every other random value (file keys,
            stanza and chunk salts) so tests can be deterministic; the platform
            CSPRNG otherwise.
        :raises ParameterError: an injected secret is not 32 bytes.
        """
        rng = random_bytes or backend().random_bytes
        if link_secret is None:
            link_secret = backend().random_bytes(LINK_SECRET_SIZE)
        if share_key is None:
            share_key = backend().random_bytes(SHARE_KEY_SIZE)
        link_secret = _check_key(link_secret, "link secret", LINK_SECRET_SIZE)
        share_key = _check_key(share_key, "share key", SHARE_KEY_SIZE)

        claim_key = await derive_claim_key(share_key)
        verifier = await backend().sha256(claim_key)

        return cls(
            link_secret=link_secret,
            share_key=share_key,
            claim_verifier=verifier,
            random_bytes=rng,
        )

    @property
    def fragment(self) -> str:
        """The URL fragment (without ``#``): the link secret in base64url."""
        return b64url_encode(self.link_secret)

    @property
    def file_count(self) -> int:
        """How many files were added."""
        return len(self._files)

    def add_file(self, name: str, size: int, media_type: str) -> int:
        """Register a file and give it a random key.

        :param name: display name (stored NFC-normalised).
        :param size: plaintext size in bytes.
        :param media_type: MIME type as reported by the platform, may be empty.
        :returns: the file's index (0-based, in order of addition).
        :raises ParameterError: wrong types, a negative size, or the manifest
            was already sealed.
        """
        if self._sealed:
            raise ParameterError("add_file: the manifest is already sealed")
        if not isinstance(name, str) or not isinstance(media_type, str):
            raise ParameterError("add_file: name and media_type must be str")
        if type(size) is not int or not 0 <= size <= manifest.MAX_SAFE_INTEGER:
            raise ParameterError(f"size: expected a non-negative integer, got {size}")
        if len(media_type) > manifest.MAX_MEDIA_TYPE_LENGTH:
            raise ParameterError("media type: longer than 255 characters")
        name = unicodedata.normalize("NFC", name)
        for value, what in ((name, "name"), (media_type, "media type")):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise ParameterError(f"{what}: not valid unicode") from None

        key = _check_key(self._random_bytes(FILE_KEY_SIZE), "file key", FILE_KEY_SIZE)
        self._files.append(ManifestFile(name, size, media_type, key))
        return len(self._files) - 1

    def ciphertext_size(self, index: int) -> int:
        """Size of file ``index``'s ciphertext (what the server stores)."""
        return chunked.ciphertext_size(self._file(index).size)

    async def seal_header(self) -> bytes:
        """Build the envelope header (once) and return its bytes.

        Later calls return the same bytes: the file contexts bind its hash.
        """
        if self._header is None:
            stanza = await envelope.LinkRecipient(self.link_secret).wrap(
                self._share_key, random_bytes=self._random_bytes
            )
            header = envelope.encode_header([stanza])
            self._header_hash = await envelope.header_hash(header)
            self._header = header
        return self._header

    async def _sealed_header_hash(self) -> bytes:
        await self.seal_header()
        assert self._header_hash is not None
        return self._header_hash

    async def file_encryptor(self, index: int) -> chunked.Encryptor:
        """A fresh encryptor for file ``index`` (seals the header if needed).

        Each call starts a new ciphertext with a new salt.
        """
        entry = self._file(index)
        context = file_context(await self._sealed_header_hash(), index)
        salt = self._random_bytes(chunked.SALT_SIZE)
        return await chunked.Encryptor.create(entry.key, context, salt=salt)

    async def seal_manifest(
        self, message: str, *, expires_in: int, max_downloads: int
    ) -> bytes:
        """Encrypt the manifest and return the whole envelope.

        :returns: ``header || manifest ciphertext``, uploaded as the manifest.
        :raises ParameterError: bad settings, a message that is not valid
            unicode, a manifest over the size limit, or called twice.
        """
        if self._sealed:
            raise ParameterError("seal_manifest: already sealed")
        if not isinstance(message, str):
            raise ParameterError("message: expected str")

        header = await self.seal_header()
        document = Manifest(message, list(self._files), expires_in, max_downloads)
        ciphertext = await manifest.encrypt(
            self._share_key,
            await self._sealed_header_hash(),
            document,
            salt=self._random_bytes(chunked.SALT_SIZE),
        )

        self._sealed = True
        return header + ciphertext

    def _file(self, index: int) -> ManifestFile:
        if type(index) is not int or not 0 <= index < len(self._files):
            raise ParameterError(f"file index: no file {index}")
        return self._files[index]


class ShareRecipient:
    """An opened share: the manifest, the claim proof and file decryptors.

    Create it with :meth:`open` (link secret) or :meth:`open_fragment`.
    """

    def __init__(
        self, *, manifest: Manifest, claim_proof: bytes, header_hash: bytes
    ) -> None:
        """Use :meth:`open` instead."""
        self.manifest = manifest
        self.claim_proof = claim_proof
        self.header_hash = header_hash

    @classmethod
    async def open(cls, link_secret: bytes, envelope_bytes: bytes) -> ShareRecipient:
        """Open an envelope with the link secret.

        :raises ParameterError: the link secret is not 32 bytes.
        :raises FormatError: the envelope is structurally invalid (checked
            before any decryption), or the decrypted manifest is invalid.
        :raises DecryptionError: wrong link secret or any modification of the
            header or the manifest ciphertext.
        """
        identity = envelope.LinkIdentity(
            _check_key(link_secret, "link secret", LINK_SECRET_SIZE)
        )
        header, ciphertext = envelope.split_envelope(bytes(envelope_bytes))
        # Bounded before any key is derived: a hostile size costs us nothing.
        if chunked.plaintext_size(len(ciphertext)) > manifest.MAX_PLAINTEXT_SIZE:
            raise FormatError("manifest: too large")

        share_key = await envelope.unwrap_share_key(header, [identity])
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
            raise ParameterError(f"file index: no file {index}")
        return self.manifest.files[index]
