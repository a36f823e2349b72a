"""The engine as it was before the read-through redesign, imported beside today's.

Issue 19 asks that a disk hit be no slower than at the commit before the engine
redesign (one read-through path, ``882b559``). That commit's ``src/dbp`` is taken
from git history into the group's folder as the package ``dbp_pre_engine`` (the
engine imports itself relatively), so both are timed in the same process and rounds.
Without git or the history (a shallow clone), the rows are left out.
"""

from __future__ import annotations

import importlib
import io
import os
import subprocess
import sys
import tarfile
from typing import Any

from common import Row, compare
from harness import KEY, check_payload
from timing import make_loop

__all__ = ["PRE_ENGINE", "pre_engine_cache", "pre_engine_reader", "pre_engine_row"]

#: The parent of the commit that introduced the one read-through path.
PRE_ENGINE = "697cb42"
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def pre_engine_cache(folder: str) -> Any | None:
    """``TieredCache`` of :data:`PRE_ENGINE`, or ``None`` when git cannot provide it."""
    try:
        archive = subprocess.run(
            ["git", "-C", _ROOT, "archive", PRE_ENGINE, "src/dbp"],
            capture_output=True,
            check=True,
            timeout=60,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    target = os.path.join(folder, "pre-engine")
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(target, filter="data")
    os.rename(os.path.join(target, "src", "dbp"), os.path.join(target, "dbp_pre_engine"))
    sys.path.insert(0, target)
    try:
        return importlib.import_module("dbp_pre_engine.cache.tiered").TieredCache
    finally:
        sys.path.remove(target)


def pre_engine_reader(cache_class: Any, folder: str, payload: Any) -> Any:
    """A timing loop of ``get`` by a fresh old-engine instance (memory off) on a folder
    holding ``payload``."""
    cache_class(base_dir=folder).set(KEY, payload)
    reader = cache_class(base_dir=folder, max_memory_entries=0)
    check_payload(reader.get(KEY), payload, "the engine before the redesign")
    return make_loop("g(k)", {"g": reader.get, "k": KEY})


def pre_engine_row(count: str, tag: str, ours: float, old: float) -> Row:
    return compare(
        f"disk_hit.{count}.vs_pre_engine",
        f"disk hit, fresh instance ({tag}) vs the engine before the redesign "
        f"(git {PRE_ENGINE}, same process)",
        ours,
        f"git {PRE_ENGINE}",
        old,
        target="aim: <= 1.0",
    )
