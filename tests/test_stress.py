"""Many processes x many threads hammering one cache folder: no exception, no wrong value.

4 interpreter processes x 4 threads run random get / set / invalidate /
cleanup / fresh-instance reads on a small key set for several seconds. Every
value names its key and writer and carries a digest of itself
(:func:`hardening_helpers.make_value`), and all values of one key have the same
length, so a shared temp-file name, a non-atomic write or a reader mixing two
files shows up as a failed digest, and a wrong file as a foreign key.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time

import pytest

from dbp.llm.bedrock.discovery import DiscoveryCache
from hardening_helpers import check_value, record

PROCESSES = 4
THREADS = 4
SECONDS = 5.0
KEYS = [f"stress:{i}" for i in range(6)]

WORKER = textwrap.dedent(
    """
    import json, logging, random, sys, threading, time, traceback
    sys.path.insert(0, sys.argv[5])
    from hardening_helpers import check_value, make_value
    from dbp.llm.bedrock.discovery import DiscoveryCache

    base_dir, seconds, worker, threads = sys.argv[1], float(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    keys = json.loads(sys.argv[6])
    sizes = {k: 1_000 + 40_000 * i for i, k in enumerate(keys)}  # one length per key

    class Count(logging.Handler):
        def __init__(self):
            super().__init__(logging.WARNING)
            self.messages = []
        def emit(self, record):
            self.messages.append(record.getMessage())
    counter = Count()
    logging.getLogger("dbp.llm.bedrock.discovery").addHandler(counter)

    # A tiny LRU so most reads go to disk; no fsync to get more overlapping writes.
    cache = DiscoveryCache(base_dir=base_dir, max_memory_entries=3, durable=False)
    ops = {"get": 0, "get_hit": 0, "fresh_get": 0, "set": 0, "invalidate": 0,
           "invalidate_all": 0, "cleanup": 0, "foreign_writer_hits": 0}
    errors, bad = [], []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def run(tid):
        rng = random.Random(f"{worker}-{tid}")
        local = dict.fromkeys(ops, 0)
        seq = 0
        me = f"{worker}.{tid}"
        while time.monotonic() < deadline:
            key = rng.choice(keys)
            roll = rng.random()
            try:
                if roll < 0.45:
                    value = cache.get(key)
                    local["get"] += 1
                elif roll < 0.55:
                    value = DiscoveryCache(base_dir=base_dir, max_memory_entries=0).get(key)
                    local["fresh_get"] += 1
                elif roll < 0.88:
                    seq += 1
                    cache.set(key, make_value(key, me, seq, sizes[key]),
                              memory_ttl=rng.choice([0, 0.01, 5]),
                              disk_ttl=rng.choice([0.05, 0.5, 60]))
                    local["set"] += 1
                    continue
                elif roll < 0.96:
                    cache.invalidate(key)
                    local["invalidate"] += 1
                    continue
                elif roll < 0.99:
                    cache.cleanup()
                    local["cleanup"] += 1
                    continue
                else:
                    cache.invalidate()
                    local["invalidate_all"] += 1
                    continue
                if value is not None:
                    local["get_hit"] += 1
                    try:
                        check_value(key, value)
                    except AssertionError as exc:
                        with lock:
                            bad.append(str(exc)[:300])
                        continue
                    if not value["writer"].startswith(worker + "."):
                        local["foreign_writer_hits"] += 1
            except Exception:
                with lock:
                    errors.append(traceback.format_exc()[-1500:])
        with lock:
            for k, v in local.items():
                ops[k] += v

    workers = [threading.Thread(target=run, args=(t,)) for t in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    print(json.dumps({"ops": ops, "errors": errors, "bad": bad, "warnings": counter.messages}))
    """
)


@pytest.mark.slow
def test_processes_and_threads_never_see_a_torn_or_foreign_value(tmp_path):
    base_dir = str(tmp_path / "base")
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    tests_dir = os.path.dirname(__file__)
    started = time.monotonic()
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                str(script),
                base_dir,
                str(SECONDS),
                f"p{n}",
                str(THREADS),
                tests_dir,
                json.dumps(KEYS),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(PROCESSES)
    ]
    results = []
    for p in procs:
        out, err = p.communicate(timeout=SECONDS + 60)
        assert p.returncode == 0, err[-3000:]
        results.append(json.loads(out))
    elapsed = time.monotonic() - started

    errors = [e for r in results for e in r["errors"]]
    bad = [b for r in results for b in r["bad"]]
    warnings = [w for r in results for w in r["warnings"]]
    totals: dict[str, int] = {}
    for r in results:
        for k, v in r["ops"].items():
            totals[k] = totals.get(k, 0) + v
    assert errors == [], errors[:3]
    assert bad == [], bad[:3]
    assert warnings == [], warnings[:3]  # no OS error is expected from mere contention
    # The run must have done real work and real sharing.
    assert totals["set"] > 1_000 and totals["get_hit"] > 1_000, totals
    assert totals["foreign_writer_hits"] > 100, totals

    # Afterwards: whatever is on disk is whole, and cleanup leaves no temp file.
    final = DiscoveryCache(base_dir=base_dir, max_memory_entries=0)
    for key in KEYS:
        value = final.get(key)
        if value is not None:
            check_value(key, value)
    final.cleanup()
    assert [n for n in os.listdir(final.cache_dir) if n.endswith(".tmp")] == []
    for entry in final.entries():
        assert entry.key in KEYS

    record(
        "stress",
        processes=PROCESSES,
        threads_per_process=THREADS,
        seconds=SECONDS,
        keys=len(KEYS),
        operations=sum(v for k, v in totals.items() if k not in ("get_hit", "foreign_writer_hits")),
        **totals,
        exceptions=len(errors),
        torn_or_foreign=len(bad),
        wall_seconds=round(elapsed, 1),
    )
