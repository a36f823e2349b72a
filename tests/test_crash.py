"""A writer killed with SIGKILL mid-write leaves no torn entry and loses no acknowledged write.

A forked writer process stores large self-checking values in a loop and, after
each ``set()`` returns, appends "key seq" to an acknowledgement file (O_APPEND).
The parent kills it with SIGKILL after a random short delay, over and over, and
after every kill reads every key with a fresh cache instance:

- every readable entry is a complete value some writer wrote for that key
  (a non-atomic write, or a reader trusting a half-written file, fails this);
- the entry is at least as new as the last write the writer acknowledged (an
  implementation that truncates the live file before rewriting it loses the
  acknowledged value when killed and fails this);
- leftover temp files are never listed or read as entries, and ``cleanup()``
  removes them (their writer is dead) without touching the entries.
"""

from __future__ import annotations

import os
import random
import signal
import time

import pytest

from dbp.llm.bedrock.discovery import DiscoveryCache
from hardening_helpers import check_value, make_value, record

KEYS = ["crash:a", "crash:b", "crash:c"]
KILLS_PER_MODE = 120  # x2 modes (durable True/False) = 240 kills
SEQ_STRIDE = 1_000_000  # each incarnation of the writer numbers its writes from kill * stride


def _writer(base_dir: str, durable: bool, incarnation: int, ack_path: str) -> None:
    """The child: write big values to KEYS forever; acknowledge each completed set()."""
    rng = random.Random(incarnation)
    cache = DiscoveryCache(base_dir=base_dir, durable=durable, max_memory_entries=0)
    ack = os.open(ack_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    seq = incarnation * SEQ_STRIDE
    while True:
        key = KEYS[seq % len(KEYS)]
        value = make_value(key, f"w{incarnation}", seq, rng.randint(200_000, 2_000_000))
        cache.set(key, value)
        if cache.disk.faults.active:  # the write was not stored: claim nothing
            os._exit(3)
        os.write(ack, f"{key} {seq}\n".encode())
        seq += 1


def _spawn(base_dir: str, durable: bool, incarnation: int, ack_path: str) -> int:
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        code = 0
        try:
            _writer(base_dir, durable, incarnation, ack_path)
        except BaseException:
            code = 2
        finally:
            os._exit(code)
    return pid


def _acknowledged(ack_path: str) -> dict[str, int]:
    last: dict[str, int] = {}
    try:
        with open(ack_path) as f:
            for line in f:
                parts = line.split()
                if len(parts) == 2:  # a kill may cut the last line short: ignore it
                    key, seq = parts[0], int(parts[1])
                    last[key] = max(last.get(key, -1), seq)
    except FileNotFoundError:
        pass
    return last


def _temps(cache_dir: str) -> list[str]:
    try:
        return [n for n in os.listdir(cache_dir) if n.endswith(".tmp")]
    except FileNotFoundError:
        return []


@pytest.mark.slow
@pytest.mark.parametrize("durable", [True, False], ids=["fsync", "no-fsync"])
def test_sigkill_mid_write_leaves_no_torn_entry_and_loses_no_acknowledged_write(tmp_path, durable):
    base_dir = str(tmp_path / "base")
    ack_path = str(tmp_path / "acks.log")
    rng = random.Random(4 if durable else 5)
    cache_dir = DiscoveryCache(base_dir=base_dir).cache_dir
    kills = kills_with_temp_left = temps_removed = reads = entries_seen = 0
    seen_temps: set[str] = set()
    started = time.monotonic()

    for incarnation in range(1, KILLS_PER_MODE + 1):
        pid = _spawn(base_dir, durable, incarnation, ack_path)
        time.sleep(rng.uniform(0.002, 0.06))  # real concurrency: let it get somewhere
        os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        # It must have died by our signal, not by an error of its own.
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, status
        kills += 1

        new_temps = set(_temps(cache_dir)) - seen_temps
        seen_temps |= new_temps
        kills_with_temp_left += bool(new_temps)  # this kill interrupted a write
        reader = DiscoveryCache(base_dir=base_dir, max_memory_entries=0)
        # Temp files are never entries.
        listed = [e.path for e in reader.entries()]
        assert not [p for p in listed if p.endswith(".tmp")]
        for found in reader.entries():
            assert found.key in KEYS, found
            entries_seen += 1
        acked = _acknowledged(ack_path)
        for key in KEYS:
            value = reader.get(key)
            reads += 1
            if key in acked:
                assert value is not None, f"acknowledged write of {key!r} lost"
            if value is not None:
                check_value(key, value)
                assert value["seq"] >= acked.get(key, -1), (
                    f"{key!r} went back from acknowledged seq {acked[key]} to {value['seq']}"
                )

        if incarnation % 20 == 0 or incarnation == KILLS_PER_MODE:
            before = {k: reader.get(k) for k in KEYS}
            temps = _temps(cache_dir)
            removed = reader.cleanup()
            assert removed == len(temps)  # exactly the dead writer's temps, no entry
            temps_removed += removed
            assert _temps(cache_dir) == []
            after = DiscoveryCache(base_dir=base_dir, max_memory_entries=0)
            assert {k: after.get(k) for k in KEYS} == before

    elapsed = time.monotonic() - started
    acked = _acknowledged(ack_path)
    assert len(acked) == len(KEYS), "the writer never completed a write: the test proved nothing"
    record(
        "crash",
        mode="fsync" if durable else "no-fsync",
        kills=kills,
        kills_with_temp_file_left=kills_with_temp_left,
        temp_files_removed_by_cleanup=temps_removed,
        verified_reads=reads,
        entries_checked=entries_seen,
        seconds=round(elapsed, 1),
    )
    # The kills must actually land mid-write some of the time, or nothing was tested.
    assert kills_with_temp_left >= 3, kills_with_temp_left
