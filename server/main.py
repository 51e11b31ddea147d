"""``sealpost serve`` and ``python -m server``: run the app on uvicorn."""

from __future__ import annotations

import argparse
import logging
import socket
import sys

import uvicorn
from starlette.types import ASGIApp

from server.app import create_app
from server.config import add_config_arguments, config_from_args
from server.web import web_state

# uvicorn's default connection backlog.
BACKLOG = 2048
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    """Add every server flag (address, data folder, secret, limits)."""
    add_config_arguments(parser)


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets whose
    # proto says TCP, and accepted sockets copy it. Without it every
    # keep-alive answer waits ~40 ms for a delayed ACK (Nagle).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    # Listening now lets clients connect as soon as the URL is printed; the
    # kernel queues them until uvicorn has started the app.
    sock.listen(BACKLOG)
    sock.set_inheritable(True)
    return sock


def serve(args: argparse.Namespace) -> int:
    """Run the server until interrupted; return the exit status.

    The socket is bound here, before uvicorn starts, so the printed URL
    carries the real port even with ``--port 0``.
    """
    try:
        config = config_from_args(args)
        # Fail before binding when the client build or Pyodide is missing.
        web_state(config)
    except RuntimeError as exc:
        sys.stderr.write(f"sealpost: error: {exc}\n")
        return 2
    try:
        sock = _bind(config.host, config.port)
    except OSError as exc:
        sys.stderr.write(
            f"sealpost: error: cannot listen on {config.host}:{config.port}: "
            f"{exc.strerror}\n"
        )
        return 1

    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    print(f"Sealpost is serving on http://{shown}:{port}/", flush=True)
    make_server(create_app(config)).run(sockets=[sock])
    return 0


def make_server(app: ASGIApp) -> uvicorn.Server:
    """A uvicorn server for ``app`` with the logging Sealpost needs."""
    return uvicorn.Server(
        uvicorn.Config(
            app,
            # Our own access line (server.app.AccessLog) names route
            # templates; uvicorn's would print paths holding share ids.
            access_log=False,
            log_config=None,
            server_header=False,
            proxy_headers=False,
            lifespan="on",
        )
    )
