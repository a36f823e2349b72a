#!/usr/bin/env python
"""Benchmarks: the discovery cache against the caches a user would pick instead.

Run (from the repository root, with the ``bench`` extra installed)::

    .venv/bin/pip install -e '.[bench]'
    .venv/bin/python benchmarks/run.py            # ~2-3 minutes on 2 cores
    .venv/bin/python benchmarks/run.py --quick    # ~15 s, rougher figures

Everything runs in this one process (start-up cost in subprocesses), the contenders of each
benchmark are timed in alternating rounds, and every figure is the median of the rounds;
results are reported as ratios to the peer measured in the same run, because absolute times
on a shared machine move by tens of percent from one minute to the next.

Writes ``<out>/latest.md`` and ``<out>/latest.json`` (default ``benchmarks/results``) and
prints the markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import asdict
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import groups  # noqa: E402  (sibling modules: this file is run as a script)
from common import Config, Row  # noqa: E402
from machine import describe  # noqa: E402
from report import render_markdown  # noqa: E402

__all__ = ["main"]


def parse_args(argv: list[str] | None) -> Config:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds and shorter batches")
    parser.add_argument(
        "--iterations",
        type=int,
        default=None,
        help="most operations per timed batch (default 20000; --quick 2000)",
    )
    parser.add_argument(
        "--repeats", type=int, default=None, help="timed rounds per contender (default 15; quick 5)"
    )
    parser.add_argument(
        "--out", default=os.path.join(HERE, "results"), help="folder for latest.md / latest.json"
    )
    parser.add_argument(
        "--tmp-dir",
        default=None,
        help="where the caches' folders go (default: the system temp folder)",
    )
    args = parser.parse_args(argv)
    iterations = args.iterations or (2000 if args.quick else 20000)
    repeats = args.repeats or (5 if args.quick else 15)
    if iterations < 1 or repeats < 1:
        parser.error("--iterations and --repeats must be >= 1")
    return Config(
        quick=args.quick,
        iterations=iterations,
        repeats=repeats,
        batch_ms=4.0 if args.quick else 20.0,
        startup_runs=5 if args.quick else 15,
        scale_sizes=(10, 1000, 10000),
        tmp_dir=os.path.abspath(args.tmp_dir or tempfile.gettempdir()),
        out_dir=os.path.abspath(args.out),
    )


def main(argv: list[str] | None = None) -> int:
    config = parse_args(argv)
    started = time.perf_counter()
    machine = describe(config.tmp_dir)
    work = tempfile.mkdtemp(prefix="dbp-bench-", dir=config.tmp_dir)
    rows: list[Row] = []
    details: dict[str, Any] = {}
    try:
        for group in groups.GROUPS:
            t0 = time.perf_counter()
            print(f"... {group.__name__}", file=sys.stderr, flush=True)
            group_dir = os.path.join(work, group.__name__)
            os.makedirs(group_dir)
            new_rows, info = group(config, group_dir)
            rows.extend(new_rows)
            details[group.__name__] = info
            details[group.__name__]["seconds"] = round(time.perf_counter() - t0, 2)
            shutil.rmtree(group_dir, ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    elapsed = time.perf_counter() - started
    result = {
        "machine": machine,
        "config": asdict(config),
        "seconds": round(elapsed, 1),
        "benchmarks": [asdict(row) for row in rows],
        "details": details,
    }
    markdown = render_markdown(result)
    os.makedirs(config.out_dir, exist_ok=True)
    with open(os.path.join(config.out_dir, "latest.json"), "w", encoding="utf-8") as f:
        json.dump(result, f, indent=2, sort_keys=False)
        f.write("\n")
    with open(os.path.join(config.out_dir, "latest.md"), "w", encoding="utf-8") as f:
        f.write(markdown)
    print(markdown)
    misses = [row.name for row in rows if row.status == "MISS"]
    print(
        f"{len(rows)} rows in {elapsed:.1f} s; targets missed: {', '.join(misses) or 'none'}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
