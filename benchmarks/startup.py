"""Start-up cost: ``python -c "import <module>"`` in fresh interpreters, interleaved.

Each command runs ``config.startup_runs`` times, the commands alternating, and the median
wall time is reported; the difference to ``import wrapt`` (which the cache needs anyway)
is the median of the per-round differences. ``-X importtime`` shows which modules the
difference is made of, and ``sys.modules`` whether boto3 (or botocore) got imported.

``import dbp.llm.bedrock.discovery`` loads its names on first access (PEP 562), so the
engine's own import cost shows in the "first use" command (importing the decorator and
``DiscoveryCache``, which loads wrapt and the engine); its ``-X importtime`` breakdown is
what the details list.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from typing import Any

from common import Config, Row, compare

__all__ = ["startup"]

#: What a program decorating a function imports: the decorator and the cache class.
FIRST_USE = "from dbp.llm.bedrock.discovery import DiscoveryCache, discovery_cached"
COMMANDS = {
    "bare": "pass",
    "wrapt": "import wrapt",
    "ours": "import dbp.llm.bedrock.discovery",
    "first_use": FIRST_USE,
    "cachetools": "import cachetools",
    "diskcache": "import diskcache",
    "dogpile": "import dogpile.cache",
}
#: Added start-up over ``import wrapt`` that the target allows.
LIMIT_MS = 5.0
# PYTHONDONTWRITEBYTECODE is dropped so the warm-up run leaves .pyc files, as an installed
# package has: otherwise a module edited since its last .pyc is compiled on every launch.
_DROP_ENV = (
    "PYTHONDONTWRITEBYTECODE",
    "PYTHONPROFILEIMPORTTIME",
    "PYTHONDEVMODE",
    "PYTHONTRACEMALLOC",
    "PYTHONMALLOC",
)
_HEAVY = ("boto3", "botocore", "asyncio", "importlib.metadata", "email", "http", "ssl", "json")


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in _DROP_ENV}


def _run(code: str, cwd: str, *flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *flags, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=cwd,
        env=_env(),
        timeout=60,
    )


def _modules(statement: str, cwd: str) -> set[str]:
    code = f"import sys, json\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    return set(json.loads(_run(code, cwd).stdout))


def _importtime(statement: str, cwd: str, runs: int) -> dict[str, dict[str, float]]:
    """Median self and cumulative µs per module of ``statement`` (``-X importtime``)."""
    per: dict[str, list[tuple[int, int]]] = {}
    for _ in range(runs):
        err = _run(statement, cwd, "-X", "importtime").stderr
        for line in err.splitlines():
            if not line.startswith("import time:") or "|" not in line or "self [us]" in line:
                continue
            self_us, cumulative, name = line[len("import time:") :].split("|")
            per.setdefault(name.strip(), []).append((int(self_us), int(cumulative)))
    return {
        name: {
            "self_us": statistics.median(s for s, _ in values),
            "cumulative_us": statistics.median(c for _, c in values),
        }
        for name, values in per.items()
    }


def _delta_ms(ours: list[float], peer: list[float]) -> float:
    """Median of the per-round differences, in ms."""
    return statistics.median(o - p for o, p in zip(ours, peer, strict=True)) / 1e6


def _yes_no(flag: bool) -> str:
    return "yes" if flag else "no"


def startup(config: Config, folder: str) -> tuple[list[Row], dict[str, Any]]:
    names = list(COMMANDS)
    for name in names:  # warm-up: byte-code caches written, files in the page cache
        _run(COMMANDS[name], folder)
    walls: dict[str, list[float]] = {name: [] for name in names}
    for r in range(config.startup_runs):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            t0 = time.perf_counter_ns()
            _run(COMMANDS[name], folder)
            walls[name].append(float(time.perf_counter_ns() - t0))
    med = {name: statistics.median(values) for name, values in walls.items()}
    delta_ms = _delta_ms(walls["ours"], walls["wrapt"])
    first_use_ms = _delta_ms(walls["first_use"], walls["wrapt"])

    ours_modules = _modules(COMMANDS["ours"], folder)
    first_use_modules = _modules(FIRST_USE, folder)
    wrapt_modules = _modules(COMMANDS["wrapt"], folder)
    bare_modules = _modules("pass", folder)
    boto3_loaded = any(
        m.split(".")[0] in ("boto3", "botocore") for m in ours_modules | first_use_modules
    )
    extra_modules = sorted(first_use_modules - wrapt_modules)
    heavy = sorted(
        m for m in first_use_modules - bare_modules if m in _HEAVY or m.split(".")[0] in _HEAVY[:2]
    )
    heavy_beyond_wrapt = sorted(m for m in heavy if m in extra_modules)
    times = _importtime(FIRST_USE, folder, 3 if config.quick else 5)
    beyond_wrapt = sorted(
        ((name, t) for name, t in times.items() if name in extra_modules),
        key=lambda item: -item[1]["self_us"],
    )[:12]
    ok = delta_ms <= LIMIT_MS and not boto3_loaded
    rows = [
        Row(
            name="startup.import.vs_wrapt",
            group="startup",
            label='python -c "import dbp.llm.bedrock.discovery" vs "import wrapt"',
            ours=round(med["ours"], 1),
            peer='python -c "import wrapt"',
            peer_value=round(med["wrapt"], 1),
            ratio=round(med["ours"] / med["wrapt"], 3),
            target=f"<= +{LIMIT_MS:g} ms, no boto3",
            status="PASS" if ok else "MISS",
            ours_text=f"{med['ours'] / 1e6:.1f} ms",
            peer_text=f"{med['wrapt'] / 1e6:.1f} ms",
            notes=f"{delta_ms:+.1f} ms over wrapt; boto3 imported: {_yes_no(boto3_loaded)}",
            extra={"delta_ms": round(delta_ms, 2), "boto3_imported": boto3_loaded},
        ),
        Row(
            name="startup.first_use.vs_wrapt",
            group="startup",
            label=f'python -c "{FIRST_USE}" (loads wrapt and the engine) vs "import wrapt"',
            ours=round(med["first_use"], 1),
            peer='python -c "import wrapt"',
            peer_value=round(med["wrapt"], 1),
            ratio=round(med["first_use"] / med["wrapt"], 3),
            ours_text=f"{med['first_use'] / 1e6:.1f} ms",
            peer_text=f"{med['wrapt'] / 1e6:.1f} ms",
            notes=f"{first_use_ms:+.1f} ms over wrapt",
            extra={"delta_ms": round(first_use_ms, 2)},
        ),
    ]
    for peer, label in (
        ("bare", 'python -c "pass"'),
        ("cachetools", 'python -c "import cachetools"'),
        ("diskcache", 'python -c "import diskcache"'),
        ("dogpile", 'python -c "import dogpile.cache"'),
    ):
        row = compare(
            f"startup.import.vs_{peer}",
            f'python -c "import dbp.llm.bedrock.discovery" vs {label}',
            med["ours"],
            label,
            med[peer],
            notes=f"{(med['ours'] - med[peer]) / 1e6:+.1f} ms",
        )
        row.ours_text, row.peer_text = f"{med['ours'] / 1e6:.1f} ms", f"{med[peer] / 1e6:.1f} ms"
        rows.append(row)
    return rows, {
        "median_wall_ns": med,
        "runs_per_command": config.startup_runs,
        "delta_over_wrapt_ms": round(delta_ms, 2),
        "first_use_over_wrapt_ms": round(first_use_ms, 2),
        "boto3_imported": boto3_loaded,
        "heavy_modules_imported": heavy,
        "heavy_modules_beyond_wrapt": heavy_beyond_wrapt,
        "modules_beyond_wrapt": len(extra_modules),
        "slowest_imports_beyond_wrapt_us": dict(beyond_wrapt),
        "dbp_cumulative_us": sum(
            t["self_us"] for name, t in times.items() if name.split(".")[0] == "dbp"
        ),
    }
