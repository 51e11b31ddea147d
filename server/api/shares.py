"""The JSON routes of ``/api`` (see the HTTP API table in docs/architecture.md).

Routes only translate HTTP to :class:`server.shares.ShareService` calls and
back; every rule lives there. Errors are raised, never answered here, so
:mod:`server.api.errors` maps them in one place.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from server.encoding import b64url_decode
from server.errors import BadRequest, TooLarge, Unauthorized, Unavailable
from server.ranges import parse_range
from server.shares import Blob, CodeLock, ShareRequest, ShareService

# Largest JSON body we read; a creation request with max_files entries fits.
MAX_JSON_BYTES = 256 * 1024
# The claim verifier, proof and owner token are 32 random bytes each.
SECRET_BYTES = 32
# secrets.token_urlsafe(16) gives 22 characters; anything else is no share.
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
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_JSON_BYTES:
        raise TooLarge("the JSON body is too large")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_JSON_BYTES:
            raise TooLarge("the JSON body is too large")
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("the body must be a JSON object") from None
    if not isinstance(value, dict):
        raise BadRequest("the body must be a JSON object")
    return value


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

    new = await service.create(share_request)
    return _no_store(
        {
            "id": new.share_id,
            "owner_token": new.owner_token,
            "expires_at": new.expires_at,
        },
        status_code=201,
    )


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
    state = await _service(request).finalize(_share_id(request), _owner_token(request))
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

    ticket, ttl = await _service(request).claim(share_id, proof)
    return _no_store({"ticket": ticket, "ticket_expires_in": ttl})


async def get_file(request: Request) -> Response:
    service = _service(request)
    blob = await service.file(
        _share_id(request),
        int(request.path_params["index"]),
        request.headers.get("sealpost-ticket"),
    )
    return _blob_response(request, service, blob)


async def status(request: Request) -> Response:
    answer = await _service(request).status(_share_id(request), _owner_token(request))
    return _no_store(answer)


async def revoke(request: Request) -> Response:
    await _service(request).revoke(_share_id(request), _owner_token(request))
    return _no_store({"state": "revoked"})


def _blob_response(request: Request, service: ShareService, blob: Blob) -> Response:
    """Stream a blob, or the one byte range asked for (206)."""
    span = parse_range(request.headers.get("range"), blob.size)
    start, end = span if span is not None else (0, blob.size)
    headers = {**BLOB_HEADERS, "Content-Length": str(end - start)}
    if span is not None:
        headers["Content-Range"] = f"bytes {start}-{end - 1}/{blob.size}"
    return StreamingResponse(
        service.blobs.read(blob.key, start=start, end=end),
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
