"""The Starlette application: stores, routes, middleware and cleanup."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.accounts import AccountService
from server.administration import Administration
from server.api.accounts import ROUTES as ACCOUNT_ROUTES
from server.api.admin import ROUTES as ADMIN_ROUTES
from server.api.boxes import ROUTES as BOX_ROUTES
from server.api.errors import EXCEPTION_HANDLERS
from server.api.mail import ROUTES as MAIL_ROUTES
from server.api.receipts import ROUTES as RECEIPT_ROUTES
from server.api.recovery import ROUTES as RECOVERY_ROUTES
from server.api.shares import ROUTES as API_ROUTES
from server.api.signup import ROUTES as SIGNUP_ROUTES
from server.audit import Audit
from server.boxes import BoxService
from server.config import Config
from server.mail import Mailroom
from server.recovery import Recovery
from server.shares import ShareService
from server.signup import Signup
from server.storage.accounts_base import AccountStore
from server.storage.accounts_sqlite import SQLiteAccountStore
from server.storage.audit_base import AuditStore
from server.storage.audit_sqlite import SQLiteAuditStore
from server.storage.base import BlobStore, MetadataStore
from server.storage.folder import FolderBlobStore
from server.storage.mail_base import MailStore
from server.storage.mail_sqlite import SQLiteMailStore
from server.storage.receipts_sqlite import SQLiteReceiptStore
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


async def _cleanup_forever(
    passes: list[Callable[[], Awaitable[object]]], interval: float
) -> None:
    while True:
        try:
            for cleanup in passes:
                await cleanup()
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
    account_store: AccountStore | None = None,
    mail_store: MailStore | None = None,
    audit_store: AuditStore | None = None,
) -> Starlette:
    """Build the application; the stores open when its lifespan starts.

    :param metadata: a store to use instead of SQLite in the data folder.
    :param blobs: a store to use instead of the data folder's ``blobs``.
    :param account_store: accounts and sessions instead of SQLite.
    :param mail_store: boxes and deliveries instead of SQLite.
    :param audit_store: the audit log instead of SQLite.
    """

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        config.data_dir.mkdir(parents=True, exist_ok=True)
        app.state.web = await asyncio.to_thread(web_state, config)
        store = metadata or SQLiteMetadataStore(config.data_dir / DATABASE_NAME)
        await store.open()
        database = config.data_dir / DATABASE_NAME
        account_db = account_store or SQLiteAccountStore(database)
        mail_db = mail_store or SQLiteMailStore(database)
        audit_db = audit_store or SQLiteAuditStore(database)
        await account_db.open()
        await mail_db.open()
        await audit_db.open()
        receipt_db = SQLiteReceiptStore(database)
        await receipt_db.open()
        audit = Audit(audit_db, config.clock)
        app.state.audit = audit
        app.state.accounts = AccountService(config, account_db, audit)
        app.state.boxes = BoxService(config, mail_db, account_db, audit)
        app.state.mail = Mailroom(config, mail_db, account_db)
        app.state.admin = Administration(app.state.accounts, mail_db, audit)
        app.state.signup = Signup(app.state.accounts, app.state.admin)
        app.state.recovery = Recovery(app.state.accounts)
        service = ShareService(
            config,
            store,
            blobs or FolderBlobStore(config.data_dir / BLOBS_FOLDER),
            Tickets(config.secrets, max_age=config.ticket_seconds, clock=config.clock),
            audit,
            receipt_db,
        )
        app.state.shares = service
        cleaner = None
        if config.cleanup_interval_seconds > 0:
            passes = [service.cleanup, app.state.mail.purge, app.state.accounts.purge]
            cleaner = asyncio.create_task(
                _cleanup_forever(passes, config.cleanup_interval_seconds)
            )
        logger.info("Sealpost is ready.")
        try:
            yield
        finally:
            if cleaner is not None:
                cleaner.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await cleaner
            await receipt_db.close()
            await audit_db.close()
            await mail_db.close()
            await account_db.close()
            await store.close()
            logger.info("Sealpost stopped.")

    app = Starlette(
        routes=[
            *API_ROUTES,
            *ACCOUNT_ROUTES,
            *ADMIN_ROUTES,
            *SIGNUP_ROUTES,
            *RECOVERY_ROUTES,
            *RECEIPT_ROUTES,
            *BOX_ROUTES,
            *MAIL_ROUTES,
            *WEB_ROUTES,
        ],
        middleware=[Middleware(AccessLog), Middleware(SecurityHeaders)],
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )
    # A share id must never move into a redirect's Location, and no client
    # of ours relies on slash guessing.
    app.router.redirect_slashes = False
    app.state.config = config
    return app
