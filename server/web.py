"""Pages, static assets, the Pyodide runtime and the security headers.

Assets live under ``/assets/<tree hash>/`` and the runtime under
``/pyodide/<version>/``, so both can be cached for a year: a new client tree
gets a new hash, a new Pyodide a new version.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.config import Config

logger = logging.getLogger("sealpost.web")

ASSETS_PREFIX = "/assets"
PYODIDE_PREFIX = "/pyodide"
# Hex digits of the client tree's SHA-256 kept in asset URLs.
TREE_HASH_CHARS = 16
IMMUTABLE = "public, max-age=31536000, immutable"
# Text files smaller than this are not worth compressing.
GZIP_MIN_BYTES = 1024

CSP = (
    "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; "
    "worker-src 'self'; connect-src 'self'; img-src 'self' data: blob:; "
    "style-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; "
    "form-action 'none'; frame-src 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "permissions-policy": (
        "camera=(), microphone=(), geolocation=(), payment=(), usb=()"
    ),
}

MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".py": "text/x-python; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".webmanifest": "application/manifest+json",
    ".woff2": "font/woff2",
    ".wasm": "application/wasm",
    ".zip": "application/zip",
    ".whl": "application/zip",
}
# Only these are compressed; wasm, wheels and zips are binary or packed.
_TEXT_SUFFIXES = frozenset(
    {".html", ".js", ".mjs", ".css", ".json", ".map", ".py", ".txt", ".svg"}
)
PAGES = {
    "/": "index.html",
    "/s/{share_id}": "receive.html",
    "/m/{share_id}": "manage.html",
    # The account area: one page, so the keys unlocked in its worker stay.
    "/app": "app.html",
    # A departmental box's public deposit page, and a depositor's replies.
    "/b/{slug}": "deposit.html",
    "/r/{reply_box_id}": "reply.html",
}


# ---------------------------------------------------------------- build


def ensure_client_build(config: Config) -> None:
    """Bring the pyodide_crypto wheel and its lock file up to date.

    The build is reproducible, takes a fraction of a second and rewrites
    only files whose bytes changed, so running it at every start is the
    exact staleness check: the asset hash changes only when the code did.

    :raises RuntimeError: the build is unavailable or fails.
    """
    out = config.client_build_dir
    try:
        from server import build
    except ImportError as exc:
        raise RuntimeError(
            f"cannot build the browser client into {out}: {exc}"
        ) from exc
    try:
        build.build(out)
    except (OSError, RuntimeError, ValueError) as exc:
        raise RuntimeError(f"building the browser client failed: {exc}") from exc


def vendor_files(config: Config) -> dict[str, Path]:
    """Third-party browser modules served under ``/assets/<hash>/vendor/``.

    All come from ``node_modules``, pinned with integrity hashes in
    package-lock.json.
    """
    node_modules = config.pyodide_dir.parent
    return {
        "vendor/qrcode.mjs": config.qrcode_dir / "qrcode.mjs",
        # Argon2id for second-channel codes (WebCrypto has no memory-hard KDF).
        "vendor/hash-wasm.mjs": node_modules / "hash-wasm/dist/index.esm.min.js",
        # Streaming zip for "download all" (runs in the service worker).
        "vendor/client-zip.js": node_modules / "client-zip/index.js",
    }


def tree_hash(config: Config) -> str:
    """Hash of every file the browser loads from ``/assets`` (names and bytes)."""
    digest = hashlib.sha256()
    roots = [("", config.web_dir), ("build/", config.client_build_dir)]
    for prefix, root in roots:
        if not root.is_dir():
            continue
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            relative = path.relative_to(root).as_posix()
            if prefix == "" and relative.startswith("build/"):
                continue
            digest.update(f"{prefix}{relative}\0".encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    for name, path in sorted(vendor_files(config).items()):
        if path.is_file():
            digest.update(
                f"{name}\0".encode() + hashlib.sha256(path.read_bytes()).digest()
            )
    return digest.hexdigest()[:TREE_HASH_CHARS]


def pyodide_version(config: Config) -> str:
    """The version of the Pyodide runtime in ``node_modules``."""
    package = config.pyodide_dir / "package.json"
    try:
        return str(json.loads(package.read_text(encoding="utf-8"))["version"])
    except (OSError, ValueError, KeyError) as exc:
        raise RuntimeError(
            f"the Pyodide runtime is missing at {config.pyodide_dir}; run: npm ci"
        ) from exc


# ---------------------------------------------------------------- files


@dataclass(frozen=True)
class WebState:
    """What the page and asset routes need, fixed at start-up."""

    config: Config
    assets_hash: str
    pyodide_version: str

    @property
    def assets_url(self) -> str:
        return f"{ASSETS_PREFIX}/{self.assets_hash}"

    @property
    def pyodide_url(self) -> str:
        return f"{PYODIDE_PREFIX}/{self.pyodide_version}"


def _inside(root: Path, relative: str) -> Path | None:
    """``root/relative`` if it is a regular file inside ``root``, else None."""
    if not relative or "\0" in relative or relative.startswith("/"):
        return None
    base = root.resolve()
    try:
        path = (base / relative).resolve()
    except (OSError, RuntimeError):
        return None
    if not path.is_relative_to(base) or not path.is_file():
        return None
    return path


class _GzipCache:
    """Gzipped copies of static text files, made once per file version."""

    def __init__(self) -> None:
        self._items: dict[Path, tuple[float, int, bytes]] = {}

    def get(self, path: Path) -> bytes:
        stat = path.stat()
        cached = self._items.get(path)
        if cached is not None and cached[:2] == (stat.st_mtime, stat.st_size):
            return cached[2]
        data = gzip.compress(path.read_bytes(), compresslevel=9, mtime=0)
        self._items[path] = (stat.st_mtime, stat.st_size, data)
        return data


_gzip = _GzipCache()


def file_response(request: Request, path: Path, cache_control: str) -> Response:
    """Serve a static file with its media type, gzipped if it is text."""
    media_type = MEDIA_TYPES.get(path.suffix.lower())
    if media_type is None:
        return not_found(request)
    headers = {"Cache-Control": cache_control, "Vary": "Accept-Encoding"}
    accepts_gzip = "gzip" in request.headers.get("accept-encoding", "")
    if (
        accepts_gzip
        and path.suffix.lower() in _TEXT_SUFFIXES
        and path.stat().st_size >= GZIP_MIN_BYTES
    ):
        headers["Content-Encoding"] = "gzip"
        return Response(_gzip.get(path), media_type=media_type, headers=headers)
    return FileResponse(path, media_type=media_type, headers=headers)


def not_found(request: Request, text: str = "There is nothing here.") -> Response:
    """A small HTML 404 page (for browsers; the API answers JSON)."""
    body = (
        "<!doctype html><html lang=en><meta charset=utf-8>"
        f"<title>Sealpost: not found</title><p>{text}</p></html>"
    )
    return HTMLResponse(body, status_code=404, headers={"Cache-Control": "no-store"})


# ---------------------------------------------------------------- routes


def _web(request: Request) -> WebState:
    return request.app.state.web  # type: ignore[no-any-return]


async def page(request: Request) -> Response:
    web = _web(request)
    route = request.scope["route"].path
    path = web.config.web_dir / PAGES[route]
    try:
        template = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        logger.error("The page %s is missing from the client.", PAGES[route])
        return HTMLResponse(
            "<!doctype html><title>Sealpost</title><p>This page is missing from "
            "the server installation.</p>",
            status_code=500,
            headers={"Cache-Control": "no-store"},
        )
    html = template.replace("{{assets}}", web.assets_url).replace(
        "{{pyodide}}", web.pyodide_url
    )
    # Pages are tiny and name the current asset hash: never cache them.
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})


async def asset(request: Request) -> Response:
    web = _web(request)
    config = web.config
    if request.path_params["tree"] != web.assets_hash:
        return not_found(request, "This version of Sealpost is gone; reload the page.")
    relative = str(request.path_params["path"])

    vendor = vendor_files(config)
    if relative in vendor:
        path = vendor[relative] if vendor[relative].is_file() else None
    elif relative.startswith("build/"):
        path = _inside(config.client_build_dir, relative.removeprefix("build/"))
    else:
        path = _inside(config.web_dir, relative)
    if path is None:
        return not_found(request)
    return file_response(request, path, IMMUTABLE)


async def pyodide_file(request: Request) -> Response:
    web = _web(request)
    name = str(request.path_params["name"])
    if request.path_params["version"] != web.pyodide_version or "/" in name:
        return not_found(request)
    path = _inside(web.config.pyodide_dir, name)
    if path is None:
        return not_found(request)
    return file_response(request, path, IMMUTABLE)


async def service_worker(request: Request) -> Response:
    path = _inside(_web(request).config.web_dir, "js/sw.js")
    if path is None:
        return not_found(request)
    response = file_response(request, path, "no-cache")
    # The worker file sits at the root so its scope can cover /download/.
    response.headers["Service-Worker-Allowed"] = "/"
    return response


async def download_fallback(request: Request) -> Response:
    return not_found(
        request,
        "This download is made in your browser and only works in the tab that "
        "started it. Go back to the link you received and download again.",
    )


ROUTES = [
    *(Route(path, page, methods=["GET"]) for path in PAGES),
    Route("/assets/{tree}/{path:path}", asset, methods=["GET"]),
    Route("/pyodide/{version}/{name:path}", pyodide_file, methods=["GET"]),
    Route("/sw.js", service_worker, methods=["GET"]),
    Route("/download/{rest:path}", download_fallback, methods=["GET"]),
]


# ---------------------------------------------------------------- headers


class SecurityHeaders:
    """Add the security headers to every response that lacks them.

    Blob responses set their own, stricter policy first and keep it.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._raw = [
            (name.encode("latin-1"), value.encode("latin-1"))
            for name, value in SECURITY_HEADERS.items()
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(n, v) for n, v in self._raw if n not in present]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def web_state(config: Config) -> WebState:
    """Check the client files are there and fix their URLs for this run.

    :raises RuntimeError: the Pyodide runtime or the client build is missing.
    """
    if config.build_client:
        ensure_client_build(config)
    # TODO: the hash is computed once; editing client files needs a restart.
    # It can go if the server ever watches the tree (development only).
    return WebState(
        config=config,
        assets_hash=tree_hash(config),
        pyodide_version=pyodide_version(config),
    )
