"""Sender and recipient state for a whole share, without any I/O.

The sender picks a share key, wraps it in the envelope header for each
recipient (a link or code stanza and up to 15 HPKE stanzas for public keys),
gives each file its own key and encrypts the files and then the manifest; the
recipient reverses that from the link secret, or a private key, and the
envelope. The caller moves the bytes (browser worker or CLI). See
docs/format.md.
"""

from __future__ import annotations

from collections.abc import Sequence

from . import chunked, codes, envelope, hpke_stanza, kdf, keys, manifest
from .encoding import b64url_encode
from .errors import ParameterError
from .manifest import Manifest, ManifestFile

# ``x as x``: re-exported, callers know these as share.*.
from .recipient import ShareRecipient as ShareRecipient
from .reply import ReplyTo
from .runtime import backend
from .sharekeys import CLAIM_KEY_SIZE as CLAIM_KEY_SIZE
from .sharekeys import CLAIM_LABEL as CLAIM_LABEL
from .sharekeys import FILE_CONTEXT_PREFIX as FILE_CONTEXT_PREFIX
from .sharekeys import FILE_KEY_SIZE as FILE_KEY_SIZE
from .sharekeys import FILE_LABEL as FILE_LABEL
from .sharekeys import FRAGMENT_LENGTH as FRAGMENT_LENGTH
from .sharekeys import (
    LINK_SECRET_SIZE,
    MAX_RECIPIENTS,
    SHARE_KEY_SIZE,
    derive_claim_key,
    file_context,
)
from .sharekeys import exact as _exact
from .sharekeys import parse_fragment as parse_fragment


def _secret(value: bytes | None, what: str, size: int) -> bytes:
    """Check an injected secret or salt, or draw a fresh random one."""
    if value is None:
        return backend().random_bytes(size)
    return _exact(value, what, size)


def _check_recipients(
    recipients: Sequence[keys.PublicKey], *, link: bool, code: str | None
) -> tuple[keys.PublicKey, ...]:
    recipients = tuple(recipients)
    if any(not isinstance(key, keys.PublicKey) for key in recipients):
        raise ParameterError("recipients: expected keys.PublicKey values")
    if len(recipients) > MAX_RECIPIENTS:
        raise ParameterError(f"recipients: more than {MAX_RECIPIENTS}")
    if len(set(recipients)) != len(recipients):
        raise ParameterError("recipients: a key is given twice")
    if code is not None and not link:
        raise ParameterError("code: a code share needs its link (link=True)")
    if not link and not recipients:
        raise ParameterError("recipients: a share without a link needs one")
    return recipients


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
        recipients: Sequence[keys.PublicKey] = (),
        link: bool = True,
        hpke_ikm: Sequence[bytes] | None = None,
    ) -> None:
        """Use :meth:`create` instead (it derives the claim verifier)."""
        #: Still drawn without a link stanza (it is harmless), but then it
        #: opens nothing and :attr:`fragment` refuses to spell it.
        self.link_secret = link_secret
        self.has_link = link
        self.recipients = tuple(recipients)
        self._hpke_ikm = hpke_ikm
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
        recipients: Sequence[keys.PublicKey] = (),
        link: bool = True,
        test_stanza_salt: bytes | None = None,
        test_code_salt: bytes | None = None,
        test_hpke_ikm: Sequence[bytes] | None = None,
    ) -> ShareSender:
        """Start a share with fresh secrets.

        With ``code``, the share opens only with the link *and* the code: its
        header holds a code stanza instead of a link stanza (docs/format.md),
        and :attr:`code_secret` carries the unlock verifier and the public KDF
        description for the server. This runs Argon2id once.

        :param recipients: public keys (mailboxes, boxes) that each get an
            HPKE stanza, in this order, after the link or code stanza; at
            most :data:`MAX_RECIPIENTS`, no key twice.
        :param link: False for a share only ``recipients`` open: no link or
            code stanza at all.
        :param test_hpke_ikm: one 32-byte ephemeral seed per recipient (test
            vectors only).
        :param link_secret: inject the 32-byte link secret (test vectors);
            random otherwise.
        :param share_key: inject the 32-byte share key (test vectors); random
            otherwise.
        :param test_stanza_salt: the link stanza's 16-byte salt (test vectors
            only); random otherwise.
        :raises ParameterError: an injected value has the wrong size; no
            recipient at all, too many, one given twice, or a code without
            a link.
        """
        recipients = _check_recipients(recipients, link=link, code=code)
        if test_hpke_ikm is not None and len(test_hpke_ikm) != len(recipients):
            raise ParameterError("test_hpke_ikm: expected one seed per recipient")
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
            recipients=recipients,
            link=link,
            hpke_ikm=test_hpke_ikm,
        )
        sender.code_secret = code_secret
        return sender

    @property
    def fragment(self) -> str:
        """The URL fragment (without ``#``): the link secret in base64url.

        :raises ParameterError: the share has no link stanza (``link=False``),
            so a link would open nothing.
        """
        if not self.has_link:
            raise ParameterError("fragment: this share has no link stanza")
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
            stanzas = []
            if self.code_secret is not None:
                # No link stanza: the link alone must open nothing.
                stanzas.append(
                    await codes.CodeRecipient(self.code_secret).wrap(self._share_key)
                )
            elif self.has_link:
                stanzas.append(
                    await envelope.LinkRecipient(self.link_secret).wrap(
                        self._share_key, salt=self._stanza_salt
                    )
                )
            for i, key in enumerate(self.recipients):
                ikm = None if self._hpke_ikm is None else self._hpke_ikm[i]
                stanzas.append(
                    await hpke_stanza.HpkeRecipient(key).wrap(
                        self._share_key, test_ikm=ikm
                    )
                )
            header = envelope.encode_header(stanzas)
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
        reply_to: ReplyTo | None = None,
        test_salt: bytes | None = None,
    ) -> bytes:
        """Encrypt the manifest and return the whole envelope.

        :param reply_to: the sender's public key and mailbox, for an
            encrypted answer; it travels inside the manifest, so the server
            cannot swap it (manifest version 2, docs/format.md).
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
        if reply_to is not None and not isinstance(reply_to, ReplyTo):
            raise ParameterError("reply_to: expected a reply.ReplyTo")
        document = Manifest(
            message,
            list(self._files),
            expires_in,
            max_downloads,
            list(self._dirs),
            reply_to=reply_to,
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
