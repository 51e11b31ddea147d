"""The Starlette application: stores, routes, middleware and cleanup."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.api.errors import EXCEPTION_HANDLERS
from server.api.shares import ROUTES as API_ROUTES
from server.config import Config
from server.shares import ShareService
from server.storage.base import BlobStore, MetadataStore
from server.storage.folder import FolderBlobStore
from server.storage.sqlite import SQLiteMetadataStore
from server.tickets import Tickets
from server.web import ROUTES as WEB_ROUTES
from server.web import SecurityHeaders, web_state

logger = logging.getLogger("sealpost.server")
access_logger = logging.getLogger("sealpost.access")

DATABASE_NAME = "sealpost.db"
BLOBS_FOLDER = "blobs"


class AccessLog:
    """One log line per request naming the route template, never the path.

    The path holds share ids, so uvicorn's own access log is turned off and
    this line replaces it. It also turns an unexpected exception into a
    plain 500 after logging only its type: a traceback could quote a file
    path, and blob paths contain share ids.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        started = time.perf_counter()
        status = 0

        async def send_logged(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_logged)
        except Exception as exc:
            logger.error(
                "Failed %s %s: %s.",
                scope["method"],
                _template(scope),
                type(exc).__name__,
            )
            if status == 0:
                status = 500
                response = JSONResponse(
                    {"error": "internal", "message": "something went wrong"},
                    status_code=500,
                    headers={"Cache-Control": "no-store"},
                )
                await response(scope, receive, send)
        access_logger.info(
            "%s %s %d %.0f ms",
            scope["method"],
            _template(scope),
            status,
            (time.perf_counter() - started) * 1000,
        )


def _template(scope: Scope) -> str:
    route = scope.get("route")
    return str(getattr(route, "path", "unmatched"))


async def _cleanup_forever(service: ShareService, interval: float) -> None:
    while True:
        try:
            await service.cleanup()
        except Exception as exc:
            # A failed pass (disk error, locked database) must not end the
            # loop; the next pass retries everything.
            logger.error("Cleanup pass failed: %s.", type(exc).__name__)
        await asyncio.sleep(interval)


def create_app(
    config: Config,
    *,
    metadata: MetadataStore | None = None,
    blobs: BlobStore | None = None,
) -> Starlette:
    """Build the application; the stores open when its lifespan starts.

    :param metadata: a store to use instead of SQLite in the data folder.
    :param blobs: a store to use instead of the data folder's ``blobs``.
    """

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        config.data_dir.mkdir(parents=True, exist_ok=True)
        app.state.web = await asyncio.to_thread(web_state, config)
        store = metadata or SQLiteMetadataStore(config.data_dir / DATABASE_NAME)
        await store.open()
        service = ShareService(
            config,
            store,
            blobs or FolderBlobStore(config.data_dir / BLOBS_FOLDER),
            Tickets(config.secrets, max_age=config.ticket_seconds, clock=config.clock),
        )
        app.state.shares = service
        cleaner = None
        if config.cleanup_interval_seconds > 0:
            cleaner = asyncio.create_task(
                _cleanup_forever(service, config.cleanup_interval_seconds)
            )
        logger.info("Sealpost is ready.")
        try:
            yield
        finally:
            if cleaner is not None:
                cleaner.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await cleaner
            await store.close()
            logger.info("Sealpost stopped.")

    app = Starlette(
        routes=[*API_ROUTES, *WEB_ROUTES],
        middleware=[Middleware(AccessLog), Middleware(SecurityHeaders)],
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )
    # A share id must never move into a redirect's Location, and no client
    # of ours relies on slash guessing.
    app.router.redirect_slashes = False
    app.state.config = config
    return app
