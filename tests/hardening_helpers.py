"""Shared helpers of the hardening tests (faults, crashes, stress, bad input, model).

- Self-checking values: every value carries its key, its writer and a digest of
  itself, so a reader can tell a complete value some writer wrote from a torn,
  mixed or foreign one without knowing what was written.
- ``record``: long tests append their figures (kills, operations, faults, fuzz
  examples, state-machine steps) as JSON lines to ``$DBP_RELIABILITY_REPORT``
  when it is set; ``scripts/reliability_report.py`` turns them into
  ``docs/reliability.md``.
- Real fault mechanisms: a tiny tmpfs (ENOSPC, read-only remount) and a
  subprocess run as ``nobody`` (permission denied). Each skips with a reason
  where the mechanism is not available.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from typing import Any

import pytest

NOBODY = 65534
REPORT_ENV = "DBP_RELIABILITY_REPORT"
LOGGER = "dbp.llm.bedrock.discovery"


# -- self-checking values -------------------------------------------------------
def _digest(key: str, writer: str, seq: int, blob: str) -> str:
    text = "\x1f".join((key, writer, str(seq), blob))
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def make_value(key: str, writer: str, seq: int, size: int = 64) -> dict[str, Any]:
    """A value that names its key and writer and carries a digest of all of it."""
    unit = f"{writer}:{seq};"
    blob = (unit * (size // len(unit) + 1))[:size]
    return {
        "key": key,
        "writer": writer,
        "seq": seq,
        "blob": blob,
        "digest": _digest(key, writer, seq, blob),
    }


def check_value(key: str, value: Any) -> dict[str, Any]:
    """Raise ``AssertionError`` unless ``value`` is a complete value written for ``key``."""
    assert isinstance(value, dict), f"{key!r}: got a {type(value).__name__}, not a value"
    assert set(value) == {"key", "writer", "seq", "blob", "digest"}, (
        f"{key!r}: fields {value!r:.200}"
    )
    assert value["key"] == key, f"asked for {key!r}, got the value of {value['key']!r}"
    expected = _digest(key, value["writer"], value["seq"], value["blob"])
    assert value["digest"] == expected, f"{key!r}: torn or altered value {value!r:.200}"
    return value


# -- figures for docs/reliability.md ----------------------------------------------
def record(test: str, **figures: Any) -> None:
    """Append this test's figures to ``$DBP_RELIABILITY_REPORT`` (a JSON-lines file)."""
    path = os.environ.get(REPORT_ENV)
    if not path:
        return
    line = json.dumps({"test": test, "at": time.time(), **figures}, sort_keys=True) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


# -- processes ----------------------------------------------------------------------
def python(code: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter; capture its output."""
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def need_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to mount a tmpfs or switch to uid 65534")


@contextlib.contextmanager
def world_traversable_dir(prefix: str = "dbp-hardening-") -> Iterator[str]:
    """A folder under /tmp that ``nobody`` can traverse (pytest's tmp_path is 0700)."""
    path = tempfile.mkdtemp(prefix=prefix, dir="/tmp")
    os.chmod(path, 0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


class AsNobody:
    """A forked child running ``fn(channel)`` as uid/gid 65534 (``nobody``).

    The interpreter cannot be exec'd as nobody here (it lives under /root, mode
    0700), so the child is forked from the test process and drops its privileges
    with ``setresgid``/``setresuid`` before doing anything: from then on every
    file operation is checked by the kernel against uid 65534, as for a real
    unprivileged user. ``channel.send(obj)`` passes JSON to the parent;
    ``channel.wait()`` blocks until the parent calls :meth:`go`.
    """

    def __init__(self, fn: Any) -> None:
        need_root()
        up_r, up_w = os.pipe()
        down_r, down_w = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - child
            code = 0
            try:
                os.close(up_r)
                os.close(down_w)
                try:
                    os.setgroups([])
                    os.setresgid(NOBODY, NOBODY, NOBODY)
                    os.setresuid(NOBODY, NOBODY, NOBODY)
                except OSError as exc:
                    os.write(
                        up_w,
                        (
                            json.dumps({"skip": f"cannot become uid {NOBODY}: {exc}"}) + "\n"
                        ).encode(),
                    )
                    os._exit(0)
                fn(_Channel(up_w, down_r))
            except BaseException as exc:
                import traceback

                os.write(up_w, (json.dumps({"error": traceback.format_exc()}) + "\n").encode())
                code = 1 if not isinstance(exc, SystemExit) else 0
            finally:
                os._exit(code)
        os.close(up_w)
        os.close(down_r)
        self.pid = pid
        self._up = os.fdopen(up_r, "r")
        self._down = down_w

    def recv(self) -> Any:
        line = self._up.readline()
        assert line, "the nobody child exited without answering"
        obj = json.loads(line)
        if isinstance(obj, dict) and "skip" in obj:
            self.join()
            pytest.skip(obj["skip"])
        assert not (isinstance(obj, dict) and "error" in obj), obj.get("error")
        return obj

    def go(self) -> None:
        os.write(self._down, b"g")

    def join(self) -> int:
        os.close(self._down)
        self._up.close()
        _, status = os.waitpid(self.pid, 0)
        return os.waitstatus_to_exitcode(status)


class _Channel:
    def __init__(self, up: int, down: int) -> None:
        self._up, self._down = up, down

    def send(self, obj: Any) -> None:
        os.write(self._up, (json.dumps(obj) + "\n").encode())

    def wait(self) -> None:
        assert os.read(self._down, 1) == b"g"


class WarningCounter(logging.Handler):
    """Collects the cache logger's warnings (for children, where caplog can't look)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []
        logging.getLogger(LOGGER).addHandler(self)

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())

    def matching(self, text: str) -> list[str]:
        return [m for m in self.messages if text in m]


@contextlib.contextmanager
def tmpfs(path: str, size: str = "256k") -> Iterator[str]:
    """Mount a tmpfs of ``size`` at ``path`` (created); skip if mounting is not allowed."""
    need_root()
    os.makedirs(path, exist_ok=True)
    if shutil.which("mount") is None:
        pytest.skip("no mount command: cannot make a real full or read-only file system")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", path],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip()}): no real ENOSPC/EROFS")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", path], capture_output=True, check=False)


def remount(path: str, mode: str) -> None:
    """Remount the tmpfs at ``path`` read-only (``"ro"``) or read-write (``"rw"``)."""
    subprocess.run(["mount", "-o", f"remount,{mode}", path], check=True, capture_output=True)


def fill_up(folder: str) -> str:
    """Fill the file system holding ``folder`` to the last byte; return the filler's path."""
    filler = os.path.join(folder, "filler.bin")
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        chunk = b"\0" * 4096
        with contextlib.suppress(OSError):
            while True:
                os.write(fd, chunk)
        with contextlib.suppress(OSError):
            while True:
                os.write(fd, b"\0")
    finally:
        os.close(fd)
    return filler


def warnings_matching(caplog: pytest.LogCaptureFixture, text: str) -> list[str]:
    """Messages at WARNING or above from the cache's logger that contain ``text``."""
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == LOGGER and r.levelname in ("WARNING", "ERROR") and text in r.getMessage()
    ]


def files_under(root: str) -> set[str]:
    """Every path (files, folders, links) below ``root``, relative to it."""
    found: set[str] = set()
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            found.add(os.path.relpath(os.path.join(folder, name), root))
    return found
