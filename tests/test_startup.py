"""Start-up: importing the package loads none of the engine; the first use loads what it needs.

Each check runs in a fresh interpreter, because ``sys.modules`` of the test process
already holds everything.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run_fresh(code: str, tmp_path: Path) -> str:
    env = {**os.environ, "DBP_CACHE_DIR": str(tmp_path / "cache")}
    env.pop("DBP_REDIS_URL", None)
    proc = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=tmp_path, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_importing_the_package_loads_neither_the_engine_nor_wrapt(tmp_path):
    out = run_fresh(
        "import sys, dbp.llm.bedrock.discovery, dbp.cache\n"
        "print(sorted(m for m in sys.modules if m.startswith(('dbp.cache.', 'wrapt', 'boto'))))\n",
        tmp_path,
    )
    assert out == "['dbp.cache.defaults', 'dbp.cache.lazy']"


def test_the_first_use_loads_the_engine_and_decorates_into_a_discovery_cache(tmp_path):
    """Without boto3 or redis installed, the names load on access and work."""
    out = run_fresh(
        "import sys\n"
        "sys.modules['boto3'] = sys.modules['botocore'] = sys.modules['redis'] = None\n"
        "import dbp.llm.bedrock.discovery as d\n"
        "@d.discovery_cached(key='answer')\n"
        "def answer():\n"
        "    return 42\n"
        "print(answer(), answer(), answer.cache_info().hits, type(d.default_cache()).__name__)\n"
        "print(d.MISS is __import__('dbp.cache').cache.MISS, 'CacheInfo' in dir(d))\n",
        tmp_path,
    )
    assert out.splitlines() == ["42 42 1 DiscoveryCache", "True True"]


def test_an_unknown_name_is_an_attribute_error_naming_it(tmp_path):
    out = run_fresh(
        "import dbp.cache, dbp.llm.bedrock.discovery as d\n"
        "for m in (dbp.cache, d):\n"
        "    try:\n"
        "        m.nope\n"
        "    except AttributeError as e:\n"
        "        print(e)\n",
        tmp_path,
    )
    assert out.splitlines() == [
        "module 'dbp.cache' has no attribute 'nope'",
        "module 'dbp.llm.bedrock.discovery' has no attribute 'nope'",
    ]


def test_the_lazy_default_cache_warns_on_the_discovery_logger(tmp_path):
    """Before the class is loaded, the default cache's logger is already the layer's."""
    out = run_fresh(
        "import logging, os, sys\n"
        "logging.basicConfig(stream=sys.stdout, format='%(name)s|%(message)s')\n"
        "os.environ['DBP_REDIS_URL'] = 'http://not-redis/0'\n"
        "import dbp.llm.bedrock.discovery as d\n"
        "print(type(d.default_cache()).__name__, d.default_cache().redis)\n",
        tmp_path,
    )
    warning, built = out.splitlines()
    assert warning.startswith("dbp.llm.bedrock.discovery|") and "DBP_REDIS_URL" in warning
    assert built == "DiscoveryCache None"
