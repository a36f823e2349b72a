"""Real redis-server processes for the Redis tier's tests (no mocks, no fakes).

``redis_server`` starts ``redis-server`` on a free port in a temp folder, waits for
PING, and can freeze (SIGSTOP), thaw, kill (SIGKILL) and restart it on the same
port. ``redis_cluster`` starts a three-node Redis Cluster with ``redis-cli --cluster
create``. Without the binaries the tests skip, naming the Debian package, except
under ``CI=true``, where they fail: CI must not pass by skipping them.

Both run in flavours (fixture parameters): ``plain``; ``restricted``, a server
refusing what ElastiCache Serverless refuses (:data:`SERVERLESS_CONFIG`); and, for
the cluster, ``tls`` (certificates from :mod:`tls_files`, made at test time).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tls_files import TLSFiles, make_tls_files

_START_TIMEOUT = 20.0  # generous: a loaded CI box can be slow to start a process

#: What ElastiCache Serverless refuses (its docs' list), refused here too: every
#: Redis test runs against a server started with this config as well ("restricted").
SERVERLESS_CONFIG = "\n".join(
    [
        *(
            f'rename-command {name} ""'
            for name in (
                "KEYS", "PSUBSCRIBE", "PUNSUBSCRIBE", "CONFIG", "FUNCTION", "FCALL", "FCALL_RO",
                "WAIT", "MOVE", "SWAPDB", "MONITOR", "FLUSHALL", "FLUSHDB", "SELECT",
            )
        ),
        # whole commands are renamed above; CLIENT and SCRIPT subcommands are refused by ACL
        "user default on nopass ~* &* +@all -client|tracking -client|caching -client|id "
        "-client|list -client|kill -client|info -client|pause -client|unpause "
        "-client|getredir -client|no-evict -client|trackinginfo -client|unblock -script|kill",
    ]
)  # fmt: skip

#: Ports of TLS servers, and the client context to reach them (for :func:`command`).
_TLS_PORTS: dict[int, ssl.SSLContext] = {}


def require_redis() -> None:
    """Skip (or, under CI=true, fail) when redis-server, redis-cli or redis-py is missing."""
    missing = [b for b in ("redis-server", "redis-cli") if shutil.which(b) is None]
    try:
        import redis  # noqa: F401
    except ImportError:
        missing.append("the redis Python package (pip install '.[test]')")
    if not missing:
        return
    message = (
        f"{', '.join(missing)} not found: install the Debian package redis-server "
        "(apt-get install redis-server) to run the Redis tier's tests"
    )
    if os.environ.get("CI") == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def free_port(*, with_bus: bool = False) -> int:
    """A TCP port free now (and, ``with_bus``, port + 10000 too: the cluster bus)."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if not with_bus:
            return port
        if port + 10000 < 65536:
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", port + 10000))
                except OSError:
                    continue
            return port
    raise RuntimeError("no free port pair found")


def command(port: int, *args: str, timeout: float = 0.5) -> bytes:
    """Send one command in RESP and return the raw reply (a test helper, not a client)."""
    payload = f"*{len(args)}\r\n".encode() + b"".join(
        f"${len(a.encode())}\r\n{a}\r\n".encode() for a in args
    )
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as raw:
        tls = _TLS_PORTS.get(port)
        s = tls.wrap_socket(raw, server_hostname="localhost") if tls is not None else raw
        s.sendall(payload)
        reply = s.recv(65536)
        # A bulk reply may come in pieces; enough for the short replies the fixtures read.
        while reply.startswith(b"$") and not reply.endswith(b"\r\n"):
            reply += s.recv(65536)
        return reply


class RedisServer:
    """One redis-server process; ``url`` points at it."""

    def __init__(
        self,
        directory: Path,
        port: int | None = None,
        *extra: str,
        tls: TLSFiles | None = None,
        config: str | None = None,
    ) -> None:
        self.directory = directory
        self.port = port if port is not None else free_port()
        self.extra = extra
        self.tls = tls  # serve TLS only, on ``port``
        self.config = config  # a redis.conf text (e.g. SERVERLESS_CONFIG)
        self.process: subprocess.Popen[bytes] | None = None
        self.stopped = False

    @property
    def url(self) -> str:
        if self.tls is not None:  # a host name, so the certificate's name is checked
            return f"rediss://localhost:{self.port}/0"
        return f"redis://127.0.0.1:{self.port}/0"

    def argv(self) -> list[str]:
        head = ["redis-server"]
        if self.config is not None:
            path = self.directory / "redis.conf"
            path.write_text(self.config + "\n")
            head.append(str(path))
        if self.tls is not None:
            _TLS_PORTS[self.port] = self.tls.client_context()
            head += ["--port", "0", "--tls-port", str(self.port), *self.tls.server_args()]
        else:
            head += ["--port", str(self.port)]
        return [
            *head,
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.directory),
            *self.extra,
        ]

    def start(self) -> RedisServer:
        self.directory.mkdir(parents=True, exist_ok=True)
        log = open(self.directory / "redis.log", "ab")
        self.process = subprocess.Popen(
            self.argv(), cwd=self.directory, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        self.wait_ready()
        return self

    def ping(self) -> bool:
        try:
            reply = command(self.port, "PING", timeout=0.2)
        except OSError:
            return False
        return reply.startswith((b"+PONG", b"-NOAUTH"))

    def wait_ready(self) -> None:
        deadline = time.monotonic() + _START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                log = (self.directory / "redis.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"redis-server exited ({self.process.returncode}): {log}")
            if self.ping():
                return
            time.sleep(0.01)
        log = (self.directory / "redis.log").read_text(errors="replace")[-2000:]
        raise RuntimeError(f"redis-server on port {self.port} did not answer PING: {log}")

    def _signal(self, signum: int) -> None:
        assert self.process is not None, "server not started"
        os.kill(self.process.pid, signum)

    def stop(self) -> None:
        """Freeze the server (SIGSTOP): connections stay open, nothing answers."""
        self._signal(signal.SIGSTOP)
        self.stopped = True

    def cont(self) -> None:
        """Thaw a frozen server (SIGCONT)."""
        self._signal(signal.SIGCONT)
        self.stopped = False

    def kill(self) -> None:
        """Kill the server (SIGKILL): connections are reset, the port refuses."""
        if self.process is None:
            return
        if self.stopped:
            self.cont()
        self.process.kill()
        self.process.wait()
        self.process = None

    def restart(self) -> None:
        """Kill (if running) and start again on the same port, empty."""
        self.kill()
        self.start()

    def close(self) -> None:
        if self.process is not None:
            if self.stopped:
                self.cont()
            self.process.terminate()
            try:
                self.process.wait(2)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None


class RedisClusterNodes:
    """Three cluster-enabled redis-servers joined by ``redis-cli --cluster create``."""

    def __init__(
        self, directory: Path, *, tls: TLSFiles | None = None, config: str | None = None
    ) -> None:
        self.tls = tls
        self.nodes: list[RedisServer] = []
        cluster_tls = ("--tls-cluster", "yes") if tls is not None else ()
        for i in range(3):
            port = free_port(with_bus=True)
            self.nodes.append(
                RedisServer(
                    directory / f"node{i}",
                    port,
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    "nodes.conf",
                    "--cluster-node-timeout",
                    "3000",
                    *cluster_tls,
                    tls=tls,
                    config=config,
                )
            )

    @property
    def url(self) -> str:
        if self.tls is not None:  # the CA through the URL, as a user may pass it
            return f"rediss+cluster://127.0.0.1:{self.nodes[0].port}/0?ssl_ca_certs={self.tls.ca}"
        return f"redis+cluster://127.0.0.1:{self.nodes[0].port}/0"

    def start(self) -> RedisClusterNodes:
        for node in self.nodes:
            node.start()
        addresses = [f"127.0.0.1:{n.port}" for n in self.nodes]
        subprocess.run(
            [
                "redis-cli",
                *(self.tls.cli_args() if self.tls is not None else ()),
                "--cluster",
                "create",
                *addresses,
                "--cluster-replicas",
                "0",
                "--cluster-yes",
            ],
            check=True,
            capture_output=True,
            timeout=30,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if all(b"cluster_state:ok" in command(n.port, "CLUSTER", "INFO") for n in self.nodes):
                return self
            time.sleep(0.05)
        raise RuntimeError("the three-node cluster did not reach cluster_state:ok")

    def close(self) -> None:
        for node in self.nodes:
            node.close()


def refused_commands(port: int) -> dict[str, int]:
    """The server's error counts by error code (``INFO errorstats``): what it refused."""
    reply = command(port, "INFO", "errorstats").decode()
    return {
        line.split(":")[0].removeprefix("errorstat_"): int(line.split("count=")[1])
        for line in reply.splitlines()
        if line.startswith("errorstat_")
    }


@pytest.fixture(params=["plain", "restricted"])
def redis_server(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[RedisServer]:
    """A fresh, empty redis-server for one test (it may be frozen or killed).

    Every test using it runs twice: against a plain server and against one that
    refuses what ElastiCache Serverless refuses (``restricted``).
    """
    require_redis()
    config = SERVERLESS_CONFIG if request.param == "restricted" else None
    server = RedisServer(tmp_path / "redis", config=config).start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TLSFiles:
    """A throwaway CA, a server certificate for localhost/127.0.0.1 and a client one."""
    return make_tls_files(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module", params=["plain", "tls", "restricted"])
def redis_cluster(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[RedisClusterNodes]:
    """A three-node Redis Cluster shared by one test module (tests use distinct prefixes).

    In three flavours: plain text, TLS only, and refusing Serverless's commands.
    """
    require_redis()
    directory = tmp_path_factory.mktemp("redis-cluster")
    tls = make_tls_files(directory / "tls") if request.param == "tls" else None
    config = SERVERLESS_CONFIG if request.param == "restricted" else None
    cluster = RedisClusterNodes(directory, tls=tls, config=config)
    try:
        yield cluster.start()
    finally:
        cluster.close()


#: The logger every test store writes to (tests read its records with caplog).
LOGGER_NAME = "dbp.test.redis"


@pytest.fixture
def make_redis_store(clock: object) -> Iterator[object]:
    """Build RedisStores on a URL with test defaults; all are closed after the test.

    Defaults: the test's ManualClock, data version 1, a 1 h default TTL and a 1 s
    socket time-out (fault tests pass the real 50 ms budget explicitly).
    """
    require_redis()
    from dbp.cache.stores.redis import RedisStore

    stores: list[RedisStore] = []

    def make(url: str, **kwargs: object) -> RedisStore:
        import logging

        kwargs.setdefault("clock", clock)
        kwargs.setdefault("logger", logging.getLogger(LOGGER_NAME))
        kwargs.setdefault("default_ttl", 3600.0)
        kwargs.setdefault("data_version", lambda: 1)
        kwargs.setdefault("socket_timeout", 1.0)
        kwargs.setdefault("connect_timeout", 1.0)
        store = RedisStore(url, **kwargs)  # type: ignore[arg-type]
        stores.append(store)
        return store

    yield make
    for store in stores:
        store.close()
