"""Adapt the pyodide_crypto share API to JS types for the browser worker.

The worker (``client/web/js/worker.js``) imports this module inside Pyodide.
It keeps the Python objects it gets back (senders, encryptors, recipients,
decryptors, code secrets) as opaque PyProxy handles and destroys them when a
job ends. Bulk buffers stay JS ``Uint8Array`` objects end to end; only small
values (headers, the envelope, keys) cross as Python ``bytes``.
"""

from __future__ import annotations

from typing import Any

import js  # type: ignore[import-not-found]
from pyodide.ffi import JsProxy, to_js  # type: ignore[import-not-found]

from pyodide_crypto import chunked, codes, encoding, kdf, manifest, share
from pyodide_crypto.errors import CodeError, FormatError, ParameterError

SEPARATOR = manifest.PATH_SEPARATOR


def _js_object(value: dict[str, Any] | list[Any]) -> Any:
    """Convert nested dicts and lists into plain JS objects and arrays."""
    return to_js(value, dict_converter=js.Object.fromEntries)


def _to_bytes(buffer: JsProxy) -> bytes:
    """Copy a small JS Uint8Array into Python bytes."""
    return bytes(buffer.to_py())


# ---------------------------------------------------------------- sending


def check_paths(paths: JsProxy, dirs: JsProxy) -> Any:
    """The first path the manifest would refuse, with why, or None.

    The send page asks this as soon as files are picked, so a bad name is
    reported before anything is encrypted or uploaded.
    """
    checked: list[str] = []
    for path in [*paths, *dirs]:
        try:
            checked.append(manifest.check_path(str(path)))
        except ParameterError as exc:
            return _js_object({"path": str(path), "reason": str(exc)})
    files = set(checked[: len(paths)])
    folders = set(checked[len(paths) :])
    for path in checked:
        parts = path.split(SEPARATOR)
        folders.update(SEPARATOR.join(parts[:d]) for d in range(1, len(parts)))
    clash = sorted(folders & files)
    if clash:
        return _js_object({"path": clash[0], "reason": "both a file and a folder"})
    return None


def generate_code() -> str:
    """A fresh random second-channel code, grouped for reading aloud."""
    return kdf.generate_code()


def check_code(code: str) -> str | None:
    """Why a typed code cannot be used, or None when it can.

    The reason (``empty``, ``character`` or ``too_long``, see
    :class:`pyodide_crypto.errors.CodeError`) is translated by the page.
    """
    try:
        kdf.normalize_code(str(code))
    except CodeError as exc:
        return exc.reason
    return None


async def create_sender(
    files: JsProxy, dirs: JsProxy, code: object
) -> share.ShareSender:
    """Start a share with the given files ({path, size, type} objects).

    ``dirs`` are folders to recreate even when empty. With a string ``code``
    the share opens only with the link and that code (this runs Argon2id
    once); anything else means a plain link share. The header is sealed
    right away because every file context binds it.
    """
    # Only a JS string is a code. JS null arrives as Pyodide's jsnull, not
    # None, and str() of it would silently protect the share with "null".
    sender = await share.ShareSender.create(
        code=code if isinstance(code, str) else None, kdf_params=kdf.DEFAULT
    )
    for item in files:
        sender.add_file(str(item.path), int(item.size), str(item.type))
    for path in dirs:
        sender.add_dir(str(path))
    await sender.seal_header()
    return sender


async def sender_info(sender: share.ShareSender, count: int) -> Any:
    """Return what the server and the link need: ciphertext sizes, secrets.

    ``code`` is the public KDF description plus the unlock verifier for the
    server (never the code itself), or None for a link share.
    """
    lock = None
    if sender.code_secret is not None:
        verifier = await sender.code_secret.unlock_verifier()
        lock = {
            **sender.code_secret.public(),
            "verifier": encoding.b64url_encode(verifier),
        }
    return _js_object(
        {
            "fragment": sender.fragment,
            "claimVerifier": encoding.b64url_encode(sender.claim_verifier),
            "ciphertextSizes": [sender.ciphertext_size(i) for i in range(count)],
            "code": lock,
        }
    )


async def seal_manifest(
    sender: share.ShareSender, message: str, expires_in: int, max_downloads: int
) -> Any:
    """Seal the manifest; returns the envelope as a Uint8Array."""
    envelope = await sender.seal_manifest(
        message, expires_in=int(expires_in), max_downloads=int(max_downloads)
    )
    return to_js(envelope)


async def file_encryptor(sender: share.ShareSender, index: int) -> chunked.Encryptor:
    """Return the streaming encryptor of file ``index``."""
    return await sender.file_encryptor(int(index))


def encryptor_header(encryptor: chunked.Encryptor) -> Any:
    """The 56-byte stream header (salt and commitment) as a Uint8Array."""
    return to_js(encryptor.header)


async def seal_window(encryptor: chunked.Encryptor, buffer: Any, final: bool) -> Any:
    """Encrypt one window of whole chunks (a Uint8Array in, one out)."""
    return await encryptor.seal(buffer, final=bool(final))


def ciphertext_size(size: int) -> int:
    """Size of the stored blob for a plaintext of ``size`` bytes."""
    return chunked.ciphertext_size(int(size))


# ---------------------------------------------------------------- receiving


def code_settings(published: JsProxy) -> tuple[bytes, kdf.Argon2Params]:
    """Salt and Argon2id parameters a code share publishes, checked.

    Checked before any derivation: a hostile server must get neither a weak
    Argon2id run nor one big enough to stall the recipient's browser.

    :raises ParameterError: parameters outside the accepted floor and ceiling.
    :raises FormatError: not an Argon2id description, or a bad salt.
    """
    value = published.to_py() if isinstance(published, JsProxy) else published
    if not isinstance(value, dict) or value.get("kdf") != "argon2id":
        raise FormatError("code: unknown key derivation")
    params = kdf.Argon2Params.from_json({k: value.get(k) for k in ("m", "t", "p")})
    salt = value.get("salt")
    if not isinstance(salt, str):
        raise FormatError("code: missing salt")
    return encoding.b64url_decode(salt, length=kdf.SALT_SIZE), params


def check_code_settings(published: JsProxy) -> None:
    """:func:`code_settings` for its errors only (no derivation)."""
    code_settings(published)


async def derive_code(fragment: str, published: JsProxy, code: str) -> codes.CodeSecret:
    """Run Argon2id once for link + typed code; the result opens the share.

    The code goes in exactly as typed: :func:`kdf.normalize_code` is the one
    place that decides which spellings are the same code.

    :raises FormatError: the fragment or the published settings are bad.
    :raises ParameterError: unsafe settings, or a code that cannot be a code.
    """
    link_secret = share.parse_fragment(str(fragment))
    salt, params = code_settings(published)
    return await codes.CodeSecret.derive(
        link_secret, str(code), salt=salt, params=params
    )


def unlock_proof(secret: codes.CodeSecret) -> str:
    """The proof the server wants before it hands out a code share's envelope."""
    return encoding.b64url_encode(secret.unlock_proof)


async def open_share(
    fragment: str, envelope: JsProxy, secret: codes.CodeSecret | None = None
) -> share.ShareRecipient:
    """Open a share from the link fragment and the envelope bytes.

    :param secret: for a code share, from :func:`derive_code`.
    :raises FormatError: the fragment or the envelope is malformed.
    :raises DecryptionError: wrong link secret or code, or tampered envelope.
    """
    link_secret = share.parse_fragment(str(fragment))
    return await share.ShareRecipient.open(
        link_secret, _to_bytes(envelope), code_secret=secret
    )


def recipient_info(recipient: share.ShareRecipient) -> Any:
    """The decrypted manifest and the claim proof as a plain JS object.

    ``name`` is the file's path, shown as text. ``safeName`` is the name a
    single download is saved under: the last path segment, neutralised by
    :func:`pyodide_crypto.manifest.safe_file_name`. ``zipPath`` is where
    "download all" puts it in the zip; ``dirs`` are the folders to create
    there (empty ones included).
    """
    document = recipient.manifest
    zip_paths, zip_dirs = zip_layout(
        [item.name for item in document.files], list(document.dirs)
    )
    return _js_object(
        {
            "message": document.message,
            "files": [
                {
                    "name": item.name,
                    "safeName": manifest.safe_file_name(
                        item.name.rsplit(SEPARATOR, 1)[-1]
                    ),
                    "zipPath": zip_paths[index],
                    "size": item.size,
                    "type": item.media_type,
                }
                for index, item in enumerate(document.files)
            ],
            "dirs": zip_dirs,
            "claimProof": encoding.b64url_encode(recipient.claim_proof),
        }
    )


def zip_layout(files: list[str], dirs: list[str]) -> tuple[list[str], list[str]]:
    """Unique zip paths for received files, and the folders to add.

    The paths are already neutralised (:func:`manifest.safe_path`). A sender
    may list one path twice, or a file where another entry needs a folder;
    a zip holding both would lose one of them when unpacked, so the later
    one gets a free name: ``a.txt`` becomes ``a (2).txt``.
    """
    folders: set[str] = set(dirs)
    for path in files:
        parts = path.split(SEPARATOR)
        folders.update(SEPARATOR.join(parts[:d]) for d in range(1, len(parts)))
    taken: set[str] = set(folders)
    unique: list[str] = []
    for path in files:
        candidate, number = path, 1
        while candidate in taken:
            number += 1
            candidate = _numbered(path, number)
        taken.add(candidate)
        unique.append(candidate)
    # Only folders that no file implies need an entry of their own.
    implied = set()
    for path in [*unique, *dirs]:
        parts = path.split(SEPARATOR)
        implied.update(SEPARATOR.join(parts[:d]) for d in range(1, len(parts)))
    empty = sorted(d for d in set(dirs) if d not in implied)
    return unique, empty


def _numbered(path: str, number: int) -> str:
    head, _, name = path.rpartition(SEPARATOR)
    stem, dot, extension = name.rpartition(".")
    if not stem:
        # No extension (or a dot file such as ".env"): number the whole name.
        stem, dot, extension = name, "", ""
    renamed = f"{stem} ({number}){dot}{extension}"
    return f"{head}{SEPARATOR}{renamed}" if head else renamed


async def file_decryptor(
    recipient: share.ShareRecipient, index: int, header: JsProxy
) -> chunked.Decryptor:
    """Return the streaming decryptor of file ``index`` (checks commitment).

    :raises DecryptionError: the header does not belong to this file.
    """
    return await recipient.file_decryptor(int(index), _to_bytes(header))


async def open_window(decryptor: chunked.Decryptor, buffer: Any, final: bool) -> Any:
    """Decrypt one window of whole chunks (a Uint8Array in, one out).

    :raises DecryptionError: any chunk fails authentication.
    """
    return await decryptor.open(buffer, final=bool(final))
