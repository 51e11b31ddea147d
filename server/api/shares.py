"""The JSON routes of ``/api`` (see the HTTP API table in docs/architecture.md).

Routes only translate HTTP to :class:`server.shares.ShareService` calls and
back; every rule lives there. Errors are raised, never answered here, so
:mod:`server.api.errors` maps them in one place.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from server.api.bodies import read_json
from server.api.mail import parse_recipients
from server.api.receipts import receipts_answer, recipient_of
from server.api.session import client_address, mailroom, optional_session
from server.encoding import b64url_decode
from server.errors import BadRequest, TooLarge, Unauthorized, Unavailable
from server.limits import plaintext_size
from server.ranges import parse_range
from server.shares import Blob, CodeLock, NewShare, ShareRequest, ShareService
from server.storage.mail_base import AddressedShare, Recipient

# Largest JSON body we read; a creation request with max_files entries fits.
MAX_JSON_BYTES = 256 * 1024
# The claim verifier, proof and owner token are 32 random bytes each.
SECRET_BYTES = 32
# server.ids.new_id(16) gives 22 characters; anything else is no share.
_SHARE_ID = re.compile(r"^[A-Za-z0-9_-]{22}$")
# A blob served to a browser must never run as a page of our origin.
BLOB_HEADERS = {
    "Content-Security-Policy": "sandbox; default-src 'none'",
    "Content-Disposition": "attachment",
    "Cache-Control": "no-store",
    "Accept-Ranges": "bytes",
    "X-Content-Type-Options": "nosniff",
}


def _service(request: Request) -> ShareService:
    return request.app.state.shares  # type: ignore[no-any-return]


def _share_id(request: Request) -> str:
    # An id that cannot exist gets the same answer as an unknown one.
    share_id = str(request.path_params["share_id"])
    if not _SHARE_ID.match(share_id):
        raise Unavailable()
    return share_id


def _owner_token(request: Request) -> bytes:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not value:
        raise Unauthorized("an owner token is required (Authorization: Bearer)")
    try:
        return b64url_decode(value.strip(), length=SECRET_BYTES)
    except ValueError:
        raise Unauthorized("the owner token is malformed") from None


async def _read_json(request: Request) -> dict[str, Any]:
    """Read a small JSON object, refusing bodies over :data:`MAX_JSON_BYTES`."""
    return await read_json(request, limit=MAX_JSON_BYTES)


def _int_field(body: dict[str, Any], name: str, *, default: int | None = None) -> int:
    value = body.get(name, default)
    # bool is an int in Python but never a size or a count in JSON.
    if not isinstance(value, int) or isinstance(value, bool):
        raise BadRequest(f"{name} must be an integer")
    return value


def _secret_field(body: dict[str, Any], name: str) -> bytes:
    value = body.get(name)
    if not isinstance(value, str):
        raise BadRequest(f"{name} must be a base64url string")
    try:
        return b64url_decode(value, length=SECRET_BYTES)
    except ValueError:
        raise BadRequest(f"{name} must be {SECRET_BYTES} bytes in base64url") from None


# Argon2id salt size and sanity bounds on what the server stores and
# publishes; recipients enforce the real floor and ceiling themselves.
CODE_SALT_BYTES = 16
_CODE_KDF_BOUNDS = {"m": (1, 1 << 22), "t": (1, 100), "p": (1, 16)}


def _code_field(body: dict[str, Any]) -> CodeLock | None:
    """Parse the optional ``code`` object of a creation request."""
    code = body.get("code")
    if code is None:
        return None
    if not isinstance(code, dict) or set(code) != {"kdf", "m", "t", "p", "salt",
                                                    "verifier"}:  # fmt: skip
        raise BadRequest("code must be {kdf, m, t, p, salt, verifier}")
    if code["kdf"] != "argon2id":
        raise BadRequest("code.kdf must be argon2id")
    kdf: dict[str, object] = {"kdf": "argon2id"}
    for name, (low, high) in _CODE_KDF_BOUNDS.items():
        kdf[name] = _in_range(f"code.{name}", _int_field(code, name), low, high)
    salt = code["salt"]
    try:
        if not isinstance(salt, str):
            raise ValueError
        b64url_decode(salt, length=CODE_SALT_BYTES)
    except ValueError:
        raise BadRequest("code.salt must be 16 bytes in base64url") from None
    kdf["salt"] = salt
    return CodeLock(kdf=kdf, unlock_verifier=_secret_field(code, "verifier"))


def _in_range(name: str, value: int, low: int, high: int) -> int:
    if not low <= value <= high:
        raise BadRequest(f"{name} must be between {low} and {high}, got {value}")
    return value


def _upload_offset(request: Request) -> int:
    raw = request.headers.get("upload-offset")
    if raw is None or not raw.isdigit():
        raise BadRequest("Upload-Offset must be the number of bytes already sent")
    return int(raw)


async def _body(request: Request) -> AsyncIterator[bytes]:
    # Never the whole body in memory: the store writes each piece as it comes.
    async for chunk in request.stream():
        yield chunk


def _no_store(content: dict[str, Any], status_code: int = 200) -> JSONResponse:
    return JSONResponse(
        content, status_code=status_code, headers={"Cache-Control": "no-store"}
    )


async def config(request: Request) -> Response:
    limits = request.app.state.config.public_limits()
    return JSONResponse(limits, headers={"Cache-Control": "no-cache"})


async def create_share(request: Request) -> Response:
    service = _service(request)
    limits = service.config
    # A valid session makes this a state-changing cookie request: the CSRF
    # check comes first, and the share records its sender.
    session = await optional_session(request)
    body = await _read_json(request)

    files = body.get("files")
    if not isinstance(files, list):
        raise BadRequest("files must be a list of {size}")
    if len(files) > limits.max_files:
        raise TooLarge(f"a share holds at most {limits.max_files} files")
    sizes = []
    for item in files:
        if not isinstance(item, dict):
            raise BadRequest("files must be a list of {size}")
        size = _int_field(item, "size")
        if size < 0:
            raise BadRequest("a file size must not be negative")
        sizes.append(size)
    share_request = ShareRequest(
        expires_in=_in_range(
            "expires_in",
            _int_field(body, "expires_in", default=limits.expiry_default_seconds),
            limits.expiry_min_seconds,
            limits.expiry_max_seconds,
        ),
        max_downloads=_in_range(
            "max_downloads",
            _int_field(body, "max_downloads", default=limits.downloads_default),
            limits.downloads_min,
            limits.downloads_max,
        ),
        claim_verifier=_secret_field(body, "claim_verifier"),
        file_sizes=tuple(sizes),
        manifest_size=_int_field(body, "manifest_size"),
        code=_code_field(body),
    )
    recipients = parse_recipients(body)
    sender = session.account.account_id if session is not None else None
    if recipients:
        # Size limits first, so an oversized deposit spends no rate budget.
        service.check_limits(share_request)
        await mailroom(request).check(
            recipients,
            sender=session.account if session is not None else None,
            plaintext_bytes=sum(plaintext_size(size) for size in sizes),
            client=client_address(request),
        )

    new = await service.create(share_request)
    if recipients or sender is not None:
        await _address(request, service, share_request, new, sender, recipients)
    return _no_store(
        {
            "id": new.share_id,
            "owner_token": new.owner_token,
            "expires_at": new.expires_at,
        },
        status_code=201,
    )


async def _address(
    request: Request,
    service: ShareService,
    share_request: ShareRequest,
    new: NewShare,
    sender: str | None,
    recipients: list[Recipient],
) -> None:
    """Record sender and recipients; a refused share is dropped at once."""
    share = AddressedShare(
        share_id=new.share_id,
        sender_id=sender,
        created_at=new.expires_at - share_request.expires_in,
        expires_at=new.expires_at,
        files=len(share_request.file_sizes),
        size=sum(share_request.file_sizes) + share_request.manifest_size,
    )
    try:
        await mailroom(request).address(share, recipients)
    except BaseException:
        await service.metadata.delete(new.share_id)
        raise


async def put_file(request: Request) -> Response:
    received = await _service(request).upload(
        _share_id(request),
        _owner_token(request),
        int(request.path_params["index"]),
        offset=_upload_offset(request),
        chunks=_body(request),
    )
    return _no_store({"received": received})


async def upload_status(request: Request) -> Response:
    received, size = await _service(request).upload_status(
        _share_id(request), _owner_token(request), int(request.path_params["index"])
    )
    return _no_store({"received": received, "size": size})


async def put_manifest(request: Request) -> Response:
    # The manifest is small and normally sent whole; Upload-Offset is
    # accepted too, so a client may resume it like a file.
    offset = _upload_offset(request) if "upload-offset" in request.headers else None
    received = await _service(request).upload(
        _share_id(request),
        _owner_token(request),
        None,
        offset=offset,
        chunks=_body(request),
    )
    return _no_store({"received": received})


async def finalize(request: Request) -> Response:
    share_id = _share_id(request)
    state = await _service(request).finalize(share_id, _owner_token(request))
    # Idempotent, like finalize itself: a retried finalize delivers again
    # to the same inboxes, which changes nothing.
    await mailroom(request).deliver(share_id)
    return _no_store({"state": state.value})


async def share_info(request: Request) -> Response:
    service = _service(request)
    record = await service.info(_share_id(request))
    return _no_store(
        {
            "code": service.code_info(record),
            "files": [
                {"index": index, "size": size}
                for index, size in enumerate(record.file_sizes)
            ],
            "manifest_size": record.manifest_size,
            "expires_at": record.expires_at,
        }
    )


async def manifest(request: Request) -> Response:
    service = _service(request)
    blob = await service.manifest(_share_id(request))
    return _blob_response(request, service, blob)


async def unlock(request: Request) -> Response:
    """The manifest of a code share, for a valid unlock proof (a POST: it
    spends an attempt when wrong)."""
    service = _service(request)
    share_id = _share_id(request)
    proof = _secret_field(await _read_json(request), "proof")
    blob = await service.unlock(share_id, proof)
    return _blob_response(request, service, blob)


async def claim(request: Request) -> Response:
    share_id = _share_id(request)
    body = await _read_json(request)
    proof = _secret_field(body, "proof")

    recipient = await recipient_of(request, share_id)
    ticket, ttl = await _service(request).claim(share_id, proof, recipient=recipient)
    return _no_store({"ticket": ticket, "ticket_expires_in": ttl})


async def get_file(request: Request) -> Response:
    service = _service(request)
    share_id = _share_id(request)
    index = int(request.path_params["index"])
    blob = await service.file(share_id, index, request.headers.get("sealpost-ticket"))

    async def served() -> None:
        await service.served(share_id, index, blob.claim)

    return _blob_response(request, service, blob, on_complete=served)


async def status(request: Request) -> Response:
    share_id = _share_id(request)
    answer = await _service(request).status(share_id, _owner_token(request))
    answer["receipts"] = await receipts_answer(request, share_id)
    return _no_store(answer)


async def revoke(request: Request) -> Response:
    share_id = _share_id(request)
    await _service(request).revoke(share_id, _owner_token(request))
    await mailroom(request).forget(share_id)
    return _no_store({"state": "revoked"})


async def _then(
    chunks: AsyncIterator[bytes], on_complete: Callable[[], Awaitable[None]]
) -> AsyncIterator[bytes]:
    """Pass ``chunks`` through, then call ``on_complete``.

    The generator resumes after its last ``yield`` only once the server
    has sent that chunk, so a response cut off before its end never gets
    here.
    """
    async for chunk in chunks:
        yield chunk
    await on_complete()


def _blob_response(
    request: Request,
    service: ShareService,
    blob: Blob,
    *,
    on_complete: Callable[[], Awaitable[None]] | None = None,
) -> Response:
    """Stream a blob, or the one byte range asked for (206).

    :param on_complete: called once a response reaching the blob's last
        byte has been sent whole (a resumed download counts when its last
        range completes).
    """
    span = parse_range(request.headers.get("range"), blob.size)
    start, end = span if span is not None else (0, blob.size)
    headers = {**BLOB_HEADERS, "Content-Length": str(end - start)}
    if span is not None:
        headers["Content-Range"] = f"bytes {start}-{end - 1}/{blob.size}"
    chunks = service.blobs.read(blob.key, start=start, end=end)
    if on_complete is not None and end == blob.size:
        chunks = _then(chunks, on_complete)
    return StreamingResponse(
        chunks,
        status_code=206 if span is not None else 200,
        media_type="application/octet-stream",
        headers=headers,
    )


ROUTES = [
    Route("/api/config", config, methods=["GET"]),
    Route("/api/shares", create_share, methods=["POST"]),
    Route("/api/shares/{share_id}", share_info, methods=["GET"]),
    Route("/api/shares/{share_id}", revoke, methods=["DELETE"]),
    Route("/api/shares/{share_id}/status", status, methods=["GET"]),
    Route("/api/shares/{share_id}/manifest", put_manifest, methods=["PUT"]),
    Route("/api/shares/{share_id}/manifest", manifest, methods=["GET"]),
    Route("/api/shares/{share_id}/finalize", finalize, methods=["POST"]),
    Route("/api/shares/{share_id}/unlock", unlock, methods=["POST"]),
    Route("/api/shares/{share_id}/claim", claim, methods=["POST"]),
    Route("/api/shares/{share_id}/files/{index:int}", put_file, methods=["PUT"]),
    Route("/api/shares/{share_id}/files/{index:int}", get_file, methods=["GET"]),
    Route(
        "/api/shares/{share_id}/files/{index:int}/upload",
        upload_status,
        methods=["GET"],
    ),
]
