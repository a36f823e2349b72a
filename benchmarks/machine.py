"""Describe the machine and software a benchmark run used (for the results files)."""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
import sys
from importlib import metadata
from typing import Any

__all__ = ["PACKAGES", "describe"]

PACKAGES = (
    "dbp-discovery-cache",
    "wrapt",
    "orjson",
    "filelock",
    "platformdirs",
    "cachetools",
    "diskcache",
    "dogpile.cache",
    "redis",
    "hiredis",
    "async-lru",
    "aiocache",
    "cashews",
    "boto3",
)


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _filesystem(path: str) -> str:
    """Type of the filesystem holding ``path`` (fsync cost depends on it), from /proc/mounts."""
    best, kind = "", "unknown"
    try:
        with open("/proc/mounts", encoding="utf-8") as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 3 and path.startswith(parts[1]) and len(parts[1]) > len(best):
                    best, kind = parts[1], parts[2]
    except OSError:
        pass
    return kind


def _git(*args: str) -> str:
    try:
        out = subprocess.run(
            ["git", *args],
            capture_output=True,
            text=True,
            check=False,
            timeout=10,
            cwd=os.path.dirname(os.path.abspath(__file__)),
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout.strip()


def describe(tmp_dir: str) -> dict[str, Any]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count() or 0
    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = []
    dirty = _git("status", "--porcelain", "--", "src")
    return {
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "load_average_at_start": load,
        "platform": platform.platform(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "executable": sys.executable,
        "packages": versions,
        "tmp_dir": tmp_dir,
        "tmp_filesystem": _filesystem(os.path.realpath(tmp_dir)),
        "git_commit": _git("rev-parse", "--short", "HEAD"),
        "src_modified": bool(dirty),
    }
