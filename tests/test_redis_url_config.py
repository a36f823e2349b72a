"""Redis URLs: checked whole when the cache is built, and never shown with a credential.

From code (``redis_url=``) an unusable URL raises at construction, naming the
argument; from the environment (``DBP_REDIS_URL``) it is one warning naming the
variable and the fix, and every call still works without the fleet tier.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap

import pytest

from dbp.cache import TieredCache, default_cache, discovery_cached
from redis_server import RedisServer, free_port, require_redis

SECRETS = ("pw-user-info", "pw-query", "pw-ssl", "tok-auth", "sec-client", "pw-encoded")
SECRET_URL = (
    "rediss://alice:pw-user-info@127.0.0.1:{port}/0?password=pw-query&ssl_password=pw-ssl"
    "&ssl_cert_reqs=none"
)

# A process with redis-py made unimportable, as on a host where it is not installed.
NO_REDIS_PY = "import sys; sys.modules['redis'] = None\n"


def shown(text: str) -> list[str]:
    return [s for s in SECRETS if s in text]


def test_redact_hides_every_credential_a_url_can_carry():
    require_redis()
    from dbp.cache.stores.redis.client import redact

    url = (
        "redis://alice:pw-user-info@h:6379/0?password=pw-query&ssl_password=pw-ssl"
        "&auth_token=tok-auth&Client_Secret=sec-client&pass%77ord=pw-encoded&db=0"
    )
    text = redact(url)
    assert shown(text) == []
    assert text.startswith("redis://alice:***@h:6379/0?")
    assert "db=0" in text and "ssl_password=***" in text and "auth_token=***" in text
    assert redact("redis://:pw-user-info@h:1") == "redis://***@h:1"
    assert redact("unix:///run/redis.sock?password=pw-query") == (
        "unix:///run/redis.sock?password=***"
    )


def test_warnings_and_reprs_never_show_a_credential(tmp_path, caplog):
    require_redis()
    caplog.set_level(logging.DEBUG)
    port = free_port()  # nothing listens: every Redis call fails and is warned about
    cache = TieredCache(tmp_path, redis_url=SECRET_URL.format(port=port))
    try:
        assert cache.get("k", "default") == "default"
        cache.set("k", 1)
        assert cache.get("k") == 1  # the local tiers still work
        texts = [r.getMessage() for r in caplog.records]
        assert any(f"127.0.0.1:{port}" in t for t in texts)  # the warning names the server
        for text in [*texts, repr(cache), repr(cache.redis), repr(cache.redis.options)]:
            assert shown(text) == [], text
        assert "redis=RedisStore('rediss://alice:***@127.0.0.1" in repr(cache)
    finally:
        cache.close()


@pytest.mark.parametrize(
    ("url", "named"),
    [
        ("htp://x", "must start with redis://"),
        ("redis://127.0.0.1:6379/0?auth_token=tok-auth", "'auth_token'"),
        ("redis://127.0.0.1:6379/0?ssl_password=pw-ssl", "TLS options need rediss://"),
        ("redis://127.0.0.1:99999/0", "Port out of range"),
        ("redis://127.0.0.1:6379/0?socket_timeout=soon", "'socket_timeout'"),
        ("redis://127.0.0.1:6379/0?decode_responses=yes", "'decode_responses'"),
        ("rediss://127.0.0.1:6379/0?ssl_cert_reqs=sometimes", "ssl_cert_reqs"),
    ],
)
def test_an_unusable_redis_url_from_code_raises_at_construction(tmp_path, url, named):
    require_redis()
    with pytest.raises(ValueError, match="redis_url") as info:
        TieredCache(tmp_path, redis_url=url)
    assert named in str(info.value)
    assert shown(str(info.value)) == []


@pytest.mark.parametrize(
    "url",
    ["htp://x", "redis://127.0.0.1:6379/0?auth_token=tok-auth", "redis://h/0?ssl_password=pw-ssl"],
)
def test_an_unusable_dbp_redis_url_is_one_warning_and_calls_work(url, monkeypatch, caplog):
    require_redis()
    caplog.set_level(logging.WARNING)
    monkeypatch.setenv("DBP_REDIS_URL", url)
    calls = []

    @discovery_cached(key="models:<region>")
    def list_models(region):
        calls.append(region)
        return [region]

    assert list_models("us-east-1") == ["us-east-1"]
    assert list_models("us-east-1") == ["us-east-1"]
    assert calls == ["us-east-1"]
    assert default_cache().redis is None
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1, warnings
    assert "DBP_REDIS_URL" in warnings[0] and "running without the Redis tier" in warnings[0]
    assert shown(warnings[0]) == []


def run_without_redis_py(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", NO_REDIS_PY + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
    )


def test_without_redis_py_dbp_redis_url_warns_with_the_fix_and_calls_work(tmp_path):
    done = run_without_redis_py(
        """
        import json
        from dbp.cache import default_cache, discovery_cached

        @discovery_cached(key="models:<region>")
        def list_models(region):
            return [region]

        print(json.dumps([list_models("us-east-1"), list_models("us-east-1"),
                          default_cache().redis is None]))
        """,
        {"DBP_REDIS_URL": "redis://127.0.0.1:1/0", "DBP_CACHE_DIR": str(tmp_path)},
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [["us-east-1"], ["us-east-1"], True]
    assert done.stderr.count("DBP_REDIS_URL needs redis-py") == 1, done.stderr
    assert "pip install 'dbp-discovery-cache[redis]'" in done.stderr


def test_without_redis_py_redis_url_raises_at_construction_with_the_fix(tmp_path):
    done = run_without_redis_py(
        f"""
        from dbp.cache import TieredCache
        try:
            TieredCache({str(tmp_path)!r}, redis_url="redis://127.0.0.1:1/0")
        except ImportError as exc:
            print("ImportError:", exc)
        """,
        {},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ImportError: redis_url needs redis-py")
    assert "pip install 'dbp-discovery-cache[redis]'" in done.stdout


def test_the_cli_names_the_option_or_the_variable(tmp_path):
    cli = [sys.executable, "-m", "dbp.llm.bedrock.discovery.cli.app", "--cache-dir", str(tmp_path)]
    bad = "redis://127.0.0.1:6379/0?auth_token=tok-auth"
    done = subprocess.run(
        [*cli, "--redis-url", bad, "cache", "clear"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert "--redis-url" in done.stderr and "'auth_token'" in done.stderr
    assert shown(done.stderr) == []
    done = subprocess.run(
        [*cli, "cache", "clear"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "DBP_REDIS_URL": bad},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "removed 0 entries\n"
    assert "DBP_REDIS_URL" in done.stderr and shown(done.stderr) == []


def test_a_unix_socket_url_works(tmp_path):
    require_redis()
    socket_path = tmp_path / "redis.sock"
    server = RedisServer(tmp_path / "unix", None, "--unixsocket", str(socket_path)).start()
    try:
        writer = TieredCache(tmp_path / "a", redis_url=f"unix://{socket_path}?db=0")
        reader = TieredCache(tmp_path / "b", redis_url=f"unix://{socket_path}?db=0")
        try:
            writer.set("k", {"v": 1})
            assert reader.get("k") == {"v": 1}  # from Redis: reader's own tiers were empty
        finally:
            writer.close()
            reader.close()
    finally:
        server.close()
