"""The README's example runs offline and shows every tier."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_quickstart_shows_cold_memory_and_disk(tmp_path):
    env = {**os.environ, "DBP_CACHE_DIR": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "quickstart.py")],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert "1. cold call" in out
    assert "upstream calls: 1" in out
    assert "3. new process, read from disk:" in out
    assert "upstream calls: 0" in out  # the new process never called upstream
    assert "with tzinfo=UTC" in out
    assert "4. another disk read, same process:" in out
    assert str(tmp_path / "cache") in out
    assert "key='bedrock_models:us-east-1'" in out
