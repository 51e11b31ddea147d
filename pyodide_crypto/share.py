"""Sender and recipient state for a whole share, without any I/O.

The sender picks a share key, wraps it in the envelope header for the link
recipient, gives each file its own key and encrypts the files and then the
manifest; the recipient reverses that from the link secret and the envelope.
The caller moves the bytes (browser worker or CLI). See docs/format.md.
"""

from __future__ import annotations

from collections.abc import Sequence

from . import chunked, codes, envelope, kdf, manifest
from .encoding import b64url_decode, b64url_encode
from .errors import FormatError, ParameterError
from .manifest import Manifest, ManifestFile
from .runtime import backend

SHARE_KEY_SIZE = envelope.SHARE_KEY_SIZE
LINK_SECRET_SIZE = envelope.LINK_SECRET_SIZE
FILE_KEY_SIZE = manifest.FILE_KEY_SIZE
CLAIM_KEY_SIZE = 32
CLAIM_LABEL = b"sealpost.v1/claim"
FILE_LABEL = b"sealpost.v1/file"
#: File chunked-encryption context prefix; header hash and u32be index follow.
FILE_CONTEXT_PREFIX = FILE_LABEL + b"\x00"
#: 43 characters: 32 bytes of base64url without padding.
FRAGMENT_LENGTH = 43


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
    if len(header_hash) != manifest.HEADER_HASH_SIZE:
        raise ParameterError(f"header hash: expected 32 bytes, got {len(header_hash)}")
    if type(index) is not int or not 0 <= index <= 0xFFFFFFFF:
        raise ParameterError(f"file index: expected a u32, got {index!r}")
    return FILE_CONTEXT_PREFIX + bytes(header_hash) + index.to_bytes(4, "big")


async def derive_claim_key(share_key: bytes) -> bytes:
    """Derive the claim key CK, the proof a recipient sends to claim a download."""
    return await backend().hkdf_sha256(
        bytes(share_key), salt=b"", info=CLAIM_LABEL, length=CLAIM_KEY_SIZE
    )


def _exact(value: object, what: str, size: int) -> bytes:
    if not isinstance(value, bytes | bytearray | memoryview) or len(value) != size:
        raise ParameterError(f"{what}: expected {size} bytes")
    return bytes(value)


def _secret(value: bytes | None, what: str, size: int) -> bytes:
    """Check an injected secret or salt, or draw a fresh random one."""
    if value is None:
        return backend().random_bytes(size)
    return _exact(value, what, size)


class ShareSender:
    """Builds one share: the header, the file encryptors and the manifest.

    Create it with :meth:`create`. Order of use: :meth:`add_file` for each
    file, :meth:`seal_header`, then :meth:`file_encryptor` per file and
    :meth:`seal_manifest` once, in either order.

    Parameters named ``test_*`` are deterministic seams for the test vectors
    of docs/format.md. Production code never passes them: a repeated salt or
    key with the same inputs repeats AES-GCM nonces.
    """

    def __init__(
        self,
        *,
        link_secret: bytes,
        share_key: bytes,
        claim_verifier: bytes,
        stanza_salt: bytes | None,
    ) -> None:
        """Use :meth:`create` instead (it derives the claim verifier)."""
        self.link_secret = link_secret
        self.claim_verifier = claim_verifier
        self._share_key = share_key
        self._stanza_salt = stanza_salt
        self._files: list[ManifestFile] = []
        self._dirs: list[str] = []
        self._header: bytes | None = None
        self._header_hash: bytes | None = None
        self._sealed = False
        #: Set by :meth:`create` for a code share; None for a link share.
        self.code_secret: codes.CodeSecret | None = None

    @classmethod
    async def create(
        cls,
        *,
        link_secret: bytes | None = None,
        share_key: bytes | None = None,
        code: str | None = None,
        kdf_params: kdf.Argon2Params = kdf.DEFAULT,
        test_stanza_salt: bytes | None = None,
        test_code_salt: bytes | None = None,
    ) -> ShareSender:
        """Start a share with fresh secrets.

        With ``code``, the share opens only with the link *and* the code: its
        header holds a code stanza instead of a link stanza (docs/format.md),
        and :attr:`code_secret` carries the unlock verifier and the public KDF
        description for the server. This runs Argon2id once.

        :param link_secret: inject the 32-byte link secret (test vectors);
            random otherwise.
        :param share_key: inject the 32-byte share key (test vectors); random
            otherwise.
        :param test_stanza_salt: the link stanza's 16-byte salt (test vectors
            only); random otherwise.
        :raises ParameterError: an injected value has the wrong size.
        """
        link_secret = _secret(link_secret, "link secret", LINK_SECRET_SIZE)
        share_key = _secret(share_key, "share key", SHARE_KEY_SIZE)
        if test_stanza_salt is not None:
            test_stanza_salt = _exact(
                test_stanza_salt, "stanza salt", envelope.LINK_SALT_SIZE
            )

        claim_key = await derive_claim_key(share_key)
        verifier = await backend().sha256(claim_key)
        code_secret = None
        if code is not None:
            code_secret = await codes.CodeSecret.derive(
                link_secret, code, salt=test_code_salt, params=kdf_params
            )

        sender = cls(
            link_secret=link_secret,
            share_key=share_key,
            claim_verifier=verifier,
            stanza_salt=test_stanza_salt,
        )
        sender.code_secret = code_secret
        return sender

    @property
    def fragment(self) -> str:
        """The URL fragment (without ``#``): the link secret in base64url."""
        return b64url_encode(self.link_secret)

    @property
    def file_count(self) -> int:
        """How many files were added."""
        return len(self._files)

    def add_file(
        self,
        name: str,
        size: int,
        media_type: str,
        *,
        test_key: bytes | None = None,
    ) -> int:
        """Register a file and give it a fresh random key.

        :param name: display name (stored NFC-normalised).
        :param size: plaintext size in bytes.
        :param media_type: MIME type as reported by the platform, may be empty.
        :param test_key: the 32-byte file key (test vectors only).
        :returns: the file's index (0-based, in order of addition).
        :raises ParameterError: see :func:`manifest.check_file`; too many
            files; or the manifest was already sealed.
        """
        if self._sealed:
            raise ParameterError("add_file: the manifest is already sealed")
        if len(self._files) >= manifest.MAX_FILES:
            raise ParameterError(f"add_file: more than {manifest.MAX_FILES} files")
        name = manifest.check_file(name, size, media_type)

        key = _secret(test_key, "file key", FILE_KEY_SIZE)
        self._files.append(ManifestFile(name, size, media_type, key))
        return len(self._files) - 1

    def add_dir(self, path: str) -> None:
        """Add a folder to recreate, empty or not (a relative ``/`` path).

        :raises ParameterError: see :func:`manifest.check_path`.
        """
        self._dirs.append(manifest.check_path(path, "folder"))

    def ciphertext_size(self, index: int) -> int:
        """Size of file ``index``'s ciphertext (what the server stores)."""
        return chunked.ciphertext_size(self._file(index).size)

    async def seal_header(self) -> bytes:
        """Build the envelope header (once) and return its bytes.

        Later calls return the same bytes: the file contexts bind its hash.
        """
        if self._header is None:
            if self.code_secret is not None:
                # No link stanza: the link alone must open nothing.
                stanza = await codes.CodeRecipient(self.code_secret).wrap(
                    self._share_key
                )
            else:
                stanza = await envelope.LinkRecipient(self.link_secret).wrap(
                    self._share_key, salt=self._stanza_salt
                )
            header = envelope.encode_header([stanza])
            self._header_hash = await envelope.header_hash(header)
            self._header = header
        return self._header

    async def _sealed_header_hash(self) -> bytes:
        await self.seal_header()
        assert self._header_hash is not None
        return self._header_hash

    async def file_encryptor(
        self, index: int, *, test_salt: bytes | None = None
    ) -> chunked.Encryptor:
        """A fresh encryptor for file ``index`` (seals the header if needed).

        Each call starts a new ciphertext with a new random salt, so a retried
        upload never reuses a nonce.

        :param test_salt: the 24-byte chunked salt (test vectors only).
        :raises ParameterError: no such file, or a salt of the wrong size.
        """
        entry = self._file(index)
        context = file_context(await self._sealed_header_hash(), index)
        salt = _secret(test_salt, "salt", chunked.SALT_SIZE)
        return await chunked.Encryptor.create(entry.key, context, salt=salt)

    async def seal_manifest(
        self,
        message: str,
        *,
        expires_in: int,
        max_downloads: int,
        test_salt: bytes | None = None,
    ) -> bytes:
        """Encrypt the manifest and return the whole envelope.

        :param test_salt: the manifest's 24-byte chunked salt (test vectors
            only).
        :returns: ``header || manifest ciphertext``, uploaded as the manifest.
        :raises ParameterError: bad settings, a message that is not valid
            unicode or too long, a manifest over the size limit, or called
            twice.
        """
        if self._sealed:
            raise ParameterError("seal_manifest: already sealed")
        if not isinstance(message, str):
            raise ParameterError("message: expected str")
        salt = _secret(test_salt, "salt", chunked.SALT_SIZE)

        header = await self.seal_header()
        document = Manifest(
            message, list(self._files), expires_in, max_downloads, list(self._dirs)
        )
        ciphertext = await manifest.encrypt(
            self._share_key, await self._sealed_header_hash(), document, salt=salt
        )

        self._sealed = True
        return header + ciphertext

    def _file(self, index: int) -> ManifestFile:
        if type(index) is not int or not 0 <= index < len(self._files):
            raise ParameterError(f"file index: no file {index!r}")
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
            _exact(link_secret, "link secret", LINK_SECRET_SIZE)
        )
        if code_secret is not None:
            identity = codes.CodeIdentity(code_secret)
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
