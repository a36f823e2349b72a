"""A small TCP proxy for the tests: cuts one host off from Redis, the others not.

A host that reaches Redis through the proxy can be partitioned (``freeze``: no
byte moves either way, connections stay open, as when a network path stops
passing packets; TCP buffers what is sent meanwhile), healed (``thaw``), and have
its connections dropped (``cut``, as when a partition outlasts the connections).
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading

__all__ = ["TcpProxy"]

_TICK = 0.02


class TcpProxy:
    """Listens on a free local port and forwards every connection to ``target_port``."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(_TICK)
        self.port = int(self._listener.getsockname()[1])
        self._frozen = threading.Event()
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def freeze(self) -> None:
        """Partition: stop moving bytes; new connections are accepted but go nowhere."""
        self._frozen.set()

    def thaw(self) -> None:
        """Heal: bytes move again (what was buffered arrives late)."""
        self._frozen.clear()

    def cut(self) -> None:
        """Drop every connection through the proxy (the clients see them close)."""
        with self._lock:
            doomed, self._sockets = self._sockets, []
        for sock in doomed:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()

    def close(self) -> None:
        self._closed.set()
        self.cut()
        self._listener.close()
        self._thread.join(2)

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        while self._frozen.is_set() and not self._closed.is_set():
            self._closed.wait(_TICK)  # partitioned: the connection leads nowhere yet
        try:
            upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=2)
        except OSError:
            client.close()
            return
        with self._lock:
            self._sockets += [client, upstream]
        peers = {client: upstream, upstream: client}
        try:
            while not self._closed.is_set():
                if self._frozen.is_set():
                    self._closed.wait(_TICK)
                    continue
                readable, _, _ = select.select(list(peers), [], [], _TICK)
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        return
                    peers[sock].sendall(data)
        except (OSError, ValueError):  # cut, or closed by a peer
            return
        finally:
            for sock in (client, upstream):
                with contextlib.suppress(OSError):
                    sock.close()
