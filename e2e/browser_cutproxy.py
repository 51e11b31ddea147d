"""A TCP proxy that cuts ciphertext downloads halfway (case C11).

The browser talks to the server through this proxy. Every request is passed
on untouched, except that the answer to a blob download
(``GET /api/shares/<id>/files/<index>``) is cut: once ``cut_after`` bytes of
blob answers (counted over all of them, so reading by ``Range`` windows does
not escape) have gone back to the browser, both sockets are closed, like a
network that drops in the middle of a transfer. Every later blob download is
then cut before its first byte, so a client that retries cannot quietly
complete the file either.
"""

from __future__ import annotations

import re
import socket
import threading
from types import TracebackType

_BLOB_GET = re.compile(rb"^GET /api/shares/[^/ ]+/files/\d+[ ?]")

#: Size of one socket read.
_READ_SIZE = 64 * 1024


class CuttingProxy:
    """Forwards 127.0.0.1:<port> to a server and cuts blob downloads."""

    def __init__(self, upstream_port: int, *, cut_after: int) -> None:
        self._upstream_port = upstream_port
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port = int(self._listener.getsockname()[1])
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._closed = False
        self._remaining = cut_after
        self.cuts = 0
        self._thread = threading.Thread(target=self._accept, daemon=True)

    @property
    def base_url(self) -> str:
        """Origin the browser should use to go through the proxy."""
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> CuttingProxy:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop accepting and close every open connection."""
        with self._lock:
            self._closed = True
            sockets = list(self._sockets)
        self._listener.close()
        for sock in sockets:
            _close_quietly(sock)
        self._thread.join(timeout=5)

    def _track(self, sock: socket.socket) -> bool:
        with self._lock:
            if self._closed:
                return False
            self._sockets.add(sock)
            return True

    def _accept(self) -> None:
        while True:
            try:
                browser_side, _ = self._listener.accept()
            except OSError:
                return
            try:
                server_side = socket.create_connection(
                    ("127.0.0.1", self._upstream_port)
                )
            except OSError:
                _close_quietly(browser_side)
                continue
            if not (self._track(browser_side) and self._track(server_side)):
                _close_quietly(browser_side)
                _close_quietly(server_side)
                return
            _Connection(self, browser_side, server_side).start()

    def _take(self, size: int) -> int:
        """Take up to ``size`` bytes from the budget shared by all blob answers."""
        with self._lock:
            granted = max(0, min(size, self._remaining))
            self._remaining -= granted
            if granted < size:
                self.cuts += 1
            return granted


class _Connection:
    """One proxied connection: two pump threads sharing the cut state."""

    def __init__(
        self,
        proxy: CuttingProxy,
        browser_side: socket.socket,
        server_side: socket.socket,
    ) -> None:
        self._proxy = proxy
        self._browser = browser_side
        self._server = server_side
        self._lock = threading.Lock()
        # Whether the answer in flight belongs to a blob download.
        self._blob = False

    def start(self) -> None:
        threading.Thread(target=self._upstream, daemon=True).start()
        threading.Thread(target=self._downstream, daemon=True).start()

    def _upstream(self) -> None:
        while True:
            try:
                data = self._browser.recv(_READ_SIZE)
            except OSError:
                break
            if not data:
                break
            if data[:4] in (b"GET ", b"POST", b"PUT ", b"HEAD", b"DELE", b"OPTI"):
                # Browsers do not pipeline, so a request line at the start of
                # a read begins the next exchange on this connection.
                with self._lock:
                    self._blob = _BLOB_GET.match(data) is not None
            try:
                self._server.sendall(data)
            except OSError:
                break
        self._shut()

    def _downstream(self) -> None:
        while True:
            try:
                data = self._server.recv(_READ_SIZE)
            except OSError:
                break
            if not data:
                break
            with self._lock:
                blob = self._blob
            if blob:
                granted = self._proxy._take(len(data))
                if granted < len(data):
                    try:
                        self._browser.sendall(data[:granted])
                    except OSError:
                        pass
                    break
            try:
                self._browser.sendall(data)
            except OSError:
                break
        self._shut()

    def _shut(self) -> None:
        _close_quietly(self._browser)
        _close_quietly(self._server)


def _close_quietly(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
