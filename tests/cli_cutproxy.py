"""A TCP proxy that breaks transfers on purpose, to test resuming.

Every byte is passed on untouched, except on the first ``cuts`` blob
transfers: a blob download (``GET /api/shares/<id>/files/<n>``) is cut after
``after`` bytes of its answer, a blob upload (``PUT`` on the same path)
after ``after`` bytes of its request. Cutting closes both sockets, like a
network that drops. ``cuts=None`` cuts every blob transfer.
"""

from __future__ import annotations

import re
import socket
import threading
from types import TracebackType

_BLOB = re.compile(rb"^(GET|PUT) /api/shares/[^/ ]+/files/\d+ ")
_METHOD = re.compile(rb"^[A-Z]+ /")
_READ_SIZE = 64 * 1024


class _Connection:
    def __init__(self, client: socket.socket, upstream: socket.socket) -> None:
        self.client = client
        self.upstream = upstream
        self.download_budget: int | None = None
        self.upload_budget: int | None = None

    def close(self) -> None:
        for sock in (self.client, self.upstream):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()


class CutProxy:
    """Forwards 127.0.0.1:<port> to ``upstream_port``, cutting blob transfers."""

    def __init__(self, upstream_port: int, *, after: int, cuts: int | None) -> None:
        self._upstream_port = upstream_port
        self._after = after
        self._cuts_left = cuts
        self.cuts = 0
        self._lock = threading.Lock()
        self._connections: list[_Connection] = []
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port = int(self._listener.getsockname()[1])
        self._thread = threading.Thread(target=self._accept, daemon=True)

    @property
    def base_url(self) -> str:
        """Origin to use instead of the server's."""
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> CutProxy:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        # shutdown wakes the thread blocked in accept(); close alone does not.
        try:
            self._listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._listener.close()
        with self._lock:
            for connection in self._connections:
                connection.close()
        self._thread.join(timeout=10)

    def _take_cut(self) -> bool:
        with self._lock:
            if self._cuts_left is None:
                self.cuts += 1
                return True
            if self._cuts_left > 0:
                self._cuts_left -= 1
                self.cuts += 1
                return True
            return False

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self._upstream_port))
            connection = _Connection(client, upstream)
            with self._lock:
                self._connections.append(connection)
            for target in (self._requests, self._answers):
                threading.Thread(target=target, args=(connection,), daemon=True).start()

    def _requests(self, connection: _Connection) -> None:
        """Client to server: spot blob requests, cut uploads."""
        try:
            while data := connection.client.recv(_READ_SIZE):
                match = _BLOB.match(data)
                if match or _METHOD.match(data):
                    connection.download_budget = None
                    connection.upload_budget = None
                if match and self._take_cut():
                    if match.group(1) == b"GET":
                        connection.download_budget = self._after
                    else:
                        connection.upload_budget = self._after
                if connection.upload_budget is not None:
                    if len(data) >= connection.upload_budget:
                        connection.upstream.sendall(data[: connection.upload_budget])
                        connection.close()
                        return
                    connection.upload_budget -= len(data)
                connection.upstream.sendall(data)
        except OSError:
            pass
        connection.close()

    def _answers(self, connection: _Connection) -> None:
        """Server to client: cut the answer of a marked blob download."""
        try:
            while data := connection.upstream.recv(_READ_SIZE):
                budget = connection.download_budget
                if budget is not None:
                    if len(data) >= budget:
                        connection.client.sendall(data[:budget])
                        connection.close()
                        return
                    connection.download_budget = budget - len(data)
                connection.client.sendall(data)
        except OSError:
            pass
        connection.close()
