"""Adapt the pyodide_crypto share API to JS types for the browser worker.

The worker (``client/web/js/worker.js``) imports this module inside Pyodide.
It keeps the Python objects it gets back (senders, encryptors, recipients,
decryptors) as opaque PyProxy handles and destroys them when a job ends. Bulk
buffers stay JS ``Uint8Array`` objects end to end; only small values (headers,
the envelope, keys) cross as Python ``bytes``.
"""

from __future__ import annotations

from typing import Any

import js  # type: ignore[import-not-found]
from pyodide.ffi import JsProxy, to_js  # type: ignore[import-not-found]

from pyodide_crypto import chunked, encoding, manifest, share


def _js_object(value: dict[str, Any] | list[Any]) -> Any:
    """Convert nested dicts and lists into plain JS objects and arrays."""
    return to_js(value, dict_converter=js.Object.fromEntries)


def _to_bytes(buffer: JsProxy) -> bytes:
    """Copy a small JS Uint8Array into Python bytes."""
    return bytes(buffer.to_py())


async def create_sender(files: JsProxy) -> share.ShareSender:
    """Start a share with the given files ({name, size, type} objects).

    The header is sealed right away because every file context binds it.
    """
    sender = await share.ShareSender.create()
    for item in files:
        sender.add_file(str(item.name), int(item.size), str(item.type))
    await sender.seal_header()
    return sender


def sender_info(sender: share.ShareSender, count: int) -> Any:
    """Return what the server and the link need: ciphertext sizes, secrets."""
    return _js_object(
        {
            "fragment": sender.fragment,
            "claimVerifier": encoding.b64url_encode(sender.claim_verifier),
            "ciphertextSizes": [sender.ciphertext_size(i) for i in range(count)],
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


async def open_share(fragment: str, envelope: JsProxy) -> share.ShareRecipient:
    """Open a share from the link fragment and the envelope bytes.

    :raises FormatError: the fragment or the envelope is malformed.
    :raises DecryptionError: wrong link secret or tampered envelope.
    """
    link_secret = share.parse_fragment(str(fragment))
    return await share.ShareRecipient.open(link_secret, _to_bytes(envelope))


def recipient_info(recipient: share.ShareRecipient) -> Any:
    """The decrypted manifest and the claim proof as a plain JS object.

    ``safeName`` is the name to save under (see
    :func:`pyodide_crypto.manifest.safe_file_name`); ``name`` is shown as text.
    """
    document = recipient.manifest
    return _js_object(
        {
            "message": document.message,
            "files": [
                {
                    "name": item.name,
                    "safeName": manifest.safe_file_name(item.name),
                    "size": item.size,
                    "type": item.media_type,
                }
                for item in document.files
            ],
            "claimProof": encoding.b64url_encode(recipient.claim_proof),
        }
    )


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
