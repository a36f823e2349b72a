"""A small TCP proxy for the Redis tier's network tests: latency, and broken replies.

Each reply from the server reaches the client ``delay`` seconds later (so a round
trip costs ``delay``), in order. ``requests`` counts the client's writes: with
request/reply traffic that is the number of round trips. With ``drop_replies_over``
set, a reply longer than that many bytes is cut in half and the connection dropped.

:class:`LatencyProxy` runs the proxy (:class:`Proxy`) in a child process, so its
threads never compete for the GIL with the client under test (whose every
millisecond counts against its budget); its settings and counters go over a pipe.
"""

from __future__ import annotations

import contextlib
import queue
import socket
import subprocess
import sys
import threading
import time


class Proxy:
    def __init__(self, upstream_port: int, delay: float = 0.0) -> None:
        self.upstream_port = upstream_port
        self.delay = delay
        self.drop_replies_over: int | None = None
        self.drop_limit: int | None = None  # drop at most this many replies (None: all)
        self.requests = 0
        self.dropped = 0
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port = int(self._listener.getsockname()[1])
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(("127.0.0.1", self.upstream_port))
            except OSError:
                client.close()
                continue
            for s in (client, server):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self._sockets += [client, server]
            replies: queue.Queue[tuple[float, bytes] | None] = queue.Queue()
            threading.Thread(target=self._requests, args=(client, server), daemon=True).start()
            threading.Thread(target=self._read_replies, args=(server, replies), daemon=True).start()
            threading.Thread(
                target=self._send_replies, args=(replies, client, server), daemon=True
            ).start()

    def _requests(self, client: socket.socket, server: socket.socket) -> None:
        try:
            while data := client.recv(65536):
                with self._lock:
                    self.requests += 1
                server.sendall(data)
        except OSError:
            pass
        self._drop(client, server)

    def _read_replies(self, server: socket.socket, replies: queue.Queue) -> None:
        try:
            while data := server.recv(65536):
                replies.put((time.monotonic() + self.delay, data))
        except OSError:
            pass
        replies.put(None)

    def _send_replies(
        self, replies: queue.Queue, client: socket.socket, server: socket.socket
    ) -> None:
        try:
            while (item := replies.get()) is not None:
                due, data = item
                wait = due - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                limit = self.drop_replies_over
                if (
                    limit is not None
                    and len(data) > limit
                    and (self.drop_limit is None or self.dropped < self.drop_limit)
                ):
                    client.sendall(data[: len(data) // 2])
                    with self._lock:
                        self.dropped += 1
                    break
                client.sendall(data)
        except OSError:
            pass
        self._drop(client, server)

    @staticmethod
    def _drop(*sockets: socket.socket) -> None:
        for s in sockets:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def close(self) -> None:
        self._closed = True
        self._listener.close()
        with self._lock:
            sockets, self._sockets = self._sockets, []
        self._drop(*sockets)


def _serve(upstream_port: int) -> None:
    """The child: one command per line on stdin, one answer per line on stdout."""
    proxy = Proxy(upstream_port)
    print(proxy.port, flush=True)
    for line in sys.stdin:
        name, _, value = line.strip().partition(" ")
        if name in ("delay",):
            proxy.delay = float(value)
        elif name in ("drop_replies_over", "drop_limit"):
            setattr(proxy, name, None if value == "None" else int(value))
        print(f"{proxy.requests} {proxy.dropped}", flush=True)
    proxy.close()


class LatencyProxy:
    """:class:`Proxy` in a child process, with the same settings and counters."""

    def __init__(self, upstream_port: int, delay: float = 0.0) -> None:
        self._child = subprocess.Popen(
            [sys.executable, __file__, str(upstream_port)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._child.stdout is not None
        self.port = int(self._child.stdout.readline())
        self._settings: dict[str, object] = {}
        self.delay = delay

    def _ask(self, line: str) -> tuple[int, int]:
        assert self._child.stdin is not None and self._child.stdout is not None
        self._child.stdin.write(line + "\n")
        self._child.stdin.flush()
        requests, dropped = self._child.stdout.readline().split()
        return int(requests), int(dropped)

    def __setattr__(self, name: str, value: object) -> None:
        if name in ("delay", "drop_replies_over", "drop_limit"):
            self._ask(f"{name} {value}")
        object.__setattr__(self, name, value)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def requests(self) -> int:
        return self._ask("stats")[0]

    @property
    def dropped(self) -> int:
        return self._ask("stats")[1]

    def close(self) -> None:
        assert self._child.stdin is not None
        self._child.stdin.close()
        try:
            self._child.wait(5)
        except subprocess.TimeoutExpired:
            self._child.kill()
            self._child.wait()


if __name__ == "__main__":
    _serve(int(sys.argv[1]))
