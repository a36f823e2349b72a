"""Run the hardening tests and regenerate docs/reliability.md from their figures.

    .venv/bin/python scripts/reliability_report.py            # runs the tests, writes the doc
    .venv/bin/python scripts/reliability_report.py --check    # runs them, prints, writes nothing

The long tests append their counts (kills, operations, faults, fuzz examples,
state-machine steps) as JSON lines to ``$DBP_RELIABILITY_REPORT``; pytest's
JUnit XML gives each test's outcome and time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FILES = [
    "tests/test_crash.py",
    "tests/test_stress.py",
    "tests/test_process_single_flight.py",
    "tests/test_faults.py",
    "tests/test_stale.py",
    "tests/test_refresh_ahead.py",
    "tests/test_bad_input.py",
    "tests/test_state_machine.py",
]


def run(report: str, junit: str) -> int:
    env = dict(os.environ, DBP_RELIABILITY_REPORT=report)
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={junit}"]
    return subprocess.call([*cmd, *FILES], cwd=ROOT, env=env)


def load_figures(path: str) -> dict[str, list[dict]]:
    figures: dict[str, list[dict]] = defaultdict(list)
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                row = json.loads(line)
                figures[row.pop("test")].append(row)
    return figures


def load_outcomes(path: str) -> tuple[list[dict], float]:
    tree = ET.parse(path)
    cases = []
    for case in tree.iter("testcase"):
        outcome, reason = "passed", ""
        for child in case:
            if child.tag in ("failure", "error"):
                outcome, reason = "failed", child.get("message", "")
            elif child.tag == "skipped":
                kind = child.get("type", "")
                outcome = "xfailed" if "xfail" in kind else "skipped"
                reason = child.get("message", "")
        cases.append(
            {
                "file": case.get("classname", "").split(".")[-1],
                "name": case.get("name", ""),
                "time": float(case.get("time", 0)),
                "outcome": outcome,
                "reason": reason,
            }
        )
    suite = next(tree.iter("testsuite"))
    return cases, float(suite.get("time", 0))


def _sum(rows: list[dict], field: str) -> int:
    return sum(int(r.get(field, 0)) for r in rows)


def render(figures: dict[str, list[dict]], cases: list[dict], total: float) -> str:
    crash = figures.get("crash", [])
    stress = (figures.get("stress") or [{}])[-1]
    sf = (figures.get("single_flight_processes") or [{}])[-1]
    fuzz_bytes = _sum(figures.get("fuzz_bytes", []), "examples")
    envelopes = figures.get("fuzz_envelope", [])
    sm = (figures.get("state_machine") or [{}])[-1]
    huge = (figures.get("huge_value") or [{}])[-1]
    enospc = (figures.get("fault_enospc") or [{}])[-1]
    deleted = (figures.get("fault_folder_deleted") or [{}])[-1]
    counts: dict[str, int] = defaultdict(int)
    per_file: dict[str, list[dict]] = defaultdict(list)
    for c in cases:
        counts[c["outcome"]] += 1
        per_file[c["file"]].append(c)
    crash_modes = ", ".join(
        f"{r['kills']} with {r['mode']} ({r['kills_with_temp_file_left']} interrupted a write)"
        for r in crash
    )
    uname = platform.uname()
    lines = [
        "# Reliability: what the cache promises and how it is tested",
        "",
        "A cache that lies or crashes is worse than none. These are the promises of the disk",
        "and memory tiers under faults, load and hostile input, each with the test that proves",
        "it and the figures of the last run. The tests use real files, real processes, real",
        "signals and real mounts; the cache under test is never mocked, and nothing sleeps",
        "where the injected clock (`ManualClock`) can move time instead.",
        "",
        "Regenerate this page with `.venv/bin/python scripts/reliability_report.py` (it runs",
        "the tests below with `DBP_RELIABILITY_REPORT` set and rewrites this file). The same",
        "tests run in CI (`.ci/run`, long ones marked `slow`).",
        "",
        f"Last run: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC, Python "
        f"{platform.python_version()}, {uname.system} {uname.release}, {os.cpu_count()} CPUs, "
        f"{'root' if os.geteuid() == 0 else 'not root'}. **{counts['passed']} passed, "
        f"{counts['xfailed']} known defects (xfail), {counts['skipped']} skipped, "
        f"{counts['failed']} failed, in {total:.1f} s.**",
        "",
        "## The promises and their evidence",
        "",
        "| Promise | How it is tested | Last run |",
        "|---|---|---|",
        "| A writer killed mid-write leaves no torn entry and loses no write it acknowledged; "
        "its temp files are never read as entries and `cleanup()` removes them | "
        "`test_crash.py`: a forked writer stores 0.2-2 MB self-checking values in a loop and "
        "acknowledges each completed `set()` in an O_APPEND log; it is killed with SIGKILL "
        "after a random 2-60 ms, restarted, killed again; after every kill a fresh instance "
        "reads every key | "
        f"{_sum(crash, 'kills')} kills ({crash_modes}); {_sum(crash, 'verified_reads')} reads "
        f"verified; {_sum(crash, 'temp_files_removed_by_cleanup')} leftover temp files removed "
        "by `cleanup()`; 0 torn, 0 lost |",
        "| Many processes and threads on one folder: no exception, no torn or foreign value | "
        "`test_stress.py`: 4 interpreters x 4 threads, random get / set / invalidate / "
        "invalidate-all / cleanup / fresh-instance reads on 6 keys; every value carries its "
        "key, its writer and a digest of itself, all values of a key have one length | "
        f"{stress.get('operations', 0):,} operations in {stress.get('seconds', 0):g} s "
        f"({stress.get('set', 0):,} sets, {stress.get('get', 0) + stress.get('fresh_get', 0):,}"
        f" gets, {stress.get('get_hit', 0):,} hits of which "
        f"{stress.get('foreign_writer_hits', 0):,} written by another process, "
        f"{stress.get('cleanup', 0):,} cleanups); {stress.get('exceptions', 0)} exceptions, "
        f"{stress.get('torn_or_foreign', 0)} torn or foreign values, 0 warnings |",
        "| N processes missing one key on a cold cache make one underlying call | "
        "`test_process_single_flight.py`: fresh interpreters released together; each "
        "underlying call appends a line to a counter file (O_APPEND) | "
        f"{sf.get('processes', 0)} processes, {sf.get('underlying_calls', 0)} call; "
        "the others read the leader's value from disk |",
        "| A lock whose holder died never blocks; a live but stuck holder is waited for at "
        "most `lock_timeout` | the holder is SIGKILLed (the kernel drops its `flock`) or "
        "SIGSTOPped | dead holder: next process proceeds at once; stuck holder: computed "
        "after `lock_timeout`=1 s with one warning |",
        "| Full disk (ENOSPC): keeps working from memory, warns once, recovers, warns again "
        "if it recurs | a 256 KiB tmpfs mounted over the base folder, filled to the last "
        "byte, then freed, then filled again | "
        f"{enospc.get('failed_writes', 0)} failed writes, {enospc.get('warnings', 0)} "
        "warnings (one per occurrence), no temp file left |",
        "| Read-only folder (EROFS), also before the folder exists (read-only home) | the "
        "tmpfs remounted `ro`, then `rw` | works in memory, one warning per condition, "
        "writes resume after `remount,rw` |",
        "| Permission denied on the folder or on one file (EACCES) | a child forked from the "
        "test process drops to uid/gid 65534 with `setresuid` and uses root-owned files | "
        "unreadable entry = miss then rewritten; one warning; recovers after `chown` |",
        "| Folder deleted while running; an entry file replaced by a directory; `.locks` "
        "blocked by a file | `rmtree` / `mkdir` / a plain file in the way | "
        f"{deleted.get('rmtree', 0)} deletions under 4 writer threads: 0 exceptions |",
        "| Clock trouble: an entry created in the future is not trusted; wall-clock jumps "
        "neither make memory entries immortal nor expire them early | `ManualClock.jump_wall` "
        "(`test_faults.py`) and the model below | entry from a clock a year ahead: a miss, "
        "removed by `cleanup()`; skew up to 300 s tolerated |",
        "| Stale-on-error: an expired value within `max_stale` instead of a throttling, "
        "network or listed error, with a warning and `cache_info().stale_hits`; also from "
        "disk after a restart or from an earlier process; otherwise the error | "
        "`test_stale.py`: botocore `ClientError(ThrottlingException)`, "
        "`EndpointConnectionError`, `ConnectionResetError`, user classes and predicates | "
        "`cleanup()` keeps such entries until `max_stale` has passed, then removes them |",
        "| Refresh-ahead: a hit in the last `refresh_ahead` fraction of the lifetime returns "
        "at once and starts one background refresh; a failed refresh keeps the current value; "
        "a refresh another process already made is picked up from disk, not repeated | "
        "`test_refresh_ahead.py`: 20 hits while the refresh is held, memory-only and "
        "two-tier functions, coroutines, a failing upstream, two caches on one folder | "
        "1 upstream call per window; 0 errors to callers |",
        "| Hostile keys (empty, 100 kB, non-ASCII, `/`, `..`, NUL, newlines) work or fail "
        "clearly and never write outside the cache folder | `test_bad_input.py` | "
        f"{len([c for c in cases if 'awkward_keys' in c['name']])} key shapes |",
        "| Arbitrary bytes as a cache file, or a valid envelope with any header field replaced "
        "by arbitrary JSON (or missing): `get` is a miss, never raises, never returns "
        "another key's value | hypothesis fuzz | "
        f"{fuzz_bytes:,} byte strings; {_sum(envelopes, 'examples'):,} envelopes over "
        f"{len(envelopes)} field variants; 0 exceptions |",
        "| A symlink planted in the cache folder is not followed for reads, writes or deletes "
        "| a link to a valid record outside the folder | victim never read, written or "
        "removed |",
        "| Huge values work; recursion-deep values fail clearly | 50 MB value through a fresh "
        "instance; 202 to 100,000 levels of lists/dicts/tuples and a self-referencing list | "
        f"{huge.get('megabytes', 0)} MB: set {huge.get('set_seconds', 0)} s, fresh get "
        f"{huge.get('fresh_get_seconds', 0)} s, peak RSS {huge.get('max_rss_mb', 0)} MB; deep "
        "values: `ValueError` naming the key |",
        "| The cache behaves like a dict with TTLs | `test_state_machine.py`: hypothesis "
        "`RuleBasedStateMachine`, two instances on one folder, set / get / invalidate / "
        "cleanup / restart / advance / wall-clock jumps checked against a model | "
        f"{sm.get('runs', 0)} runs, {sm.get('steps', 0):,} steps, "
        f"{sm.get('gets_checked', 0):,} answers checked ({sm.get('hits_checked', 0):,} hits) |",
        "",
        "No size limit is imposed on values: a 50 MB value costs about three copies of itself",
        "in memory while being written or read, which is the caller's choice to make.",
        "",
        "## Known defects (tests marked `xfail`, to be fixed in the core)",
        "",
    ]
    xfails = [c for c in cases if c["outcome"] == "xfailed"]
    if xfails:
        for c in xfails:
            reason = c["reason"].removeprefix("reason: ")
            lines.append(f"- `{c['file']}::{c['name']}`: {reason}")
    else:
        lines.append("None.")
    skipped = [c for c in cases if c["outcome"] == "skipped"]
    lines += ["", "## Skipped", ""]
    lines += [f"- `{c['file']}::{c['name']}`: {c['reason']}" for c in skipped] or ["None."]
    failed = [c for c in cases if c["outcome"] == "failed"]
    if failed:
        lines += ["", "## Failed in the last run", ""]
        lines += [f"- `{c['file']}::{c['name']}`: {c['reason'][:200]}" for c in failed]
    lines += [
        "",
        "## Where the time goes",
        "",
        "| File | Tests | Seconds |",
        "|---|---|---|",
    ]
    for name in sorted(per_file):
        rows = per_file[name]
        lines.append(f"| `{name}.py` | {len(rows)} | {sum(r['time'] for r in rows):.1f} |")
    lines += [
        "",
        "Fault mechanisms: ENOSPC and EROFS come from a real tmpfs (`mount -t tmpfs -o "
        "size=256k`, `mount -o remount,ro`); EACCES from a real unprivileged process (uid "
        "65534). Those tests need root and a working `mount`, and skip with the reason "
        "otherwise. Cross-process single flight uses `filelock` (`flock(2)`): the kernel "
        "releases a dead holder's lock, it needs no server, and it is a well-kept library "
        "(virtualenv, tox and huggingface_hub rely on it) with the O_NOFOLLOW and "
        "no-truncate care a shared cache folder needs.",
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="print instead of writing the doc")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        report, junit = os.path.join(tmp, "figures.jsonl"), os.path.join(tmp, "junit.xml")
        status = run(report, junit)
        text = render(load_figures(report), *load_outcomes(junit))
    if args.check:
        sys.stdout.write(text)
    else:
        (ROOT / "docs").mkdir(exist_ok=True)
        (ROOT / "docs" / "reliability.md").write_text(text)
        print(f"wrote docs/reliability.md (pytest exit status {status})")
    return status


if __name__ == "__main__":
    raise SystemExit(main())
