"""``DBP_REDIS_URL`` for the default cache, ``--redis-url`` / ``DBP_REDIS_URL`` for the CLI.

Two "hosts" are two cache folders; each run is a fresh process. The CLI runs against
the local Bedrock stand-in, which counts the API calls it serves.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

DEFAULT_CACHE_USER = textwrap.dedent(
    """
    import json, os
    from dbp.cache import default_cache, discovery_cached

    @discovery_cached(key="fleet_models:<region>")
    def list_models(region):
        fd = os.open(os.environ["COUNTER"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        os.write(fd, b"call\\n")
        os.close(fd)
        return {"region": region, "by": os.getpid()}

    value = list_models("us-east-1")
    print(json.dumps({"value": value, "redis_hits": list_models.cache_info().redis_hits,
                      "has_redis": default_cache().redis is not None}))
    default_cache().close()
    """
)


def test_dbp_redis_url_gives_the_default_cache_the_fleet_tier(tmp_path, redis_server):
    counter = tmp_path / "calls.log"
    results = []
    for host in ("a", "b"):
        env = {
            **os.environ,
            "DBP_CACHE_DIR": str(tmp_path / f"host-{host}"),
            "DBP_REDIS_URL": redis_server.url,
            "COUNTER": str(counter),
        }
        done = subprocess.run(
            [sys.executable, "-c", DEFAULT_CACHE_USER],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        results.append(json.loads(done.stdout))
    assert counter.read_text().splitlines() == ["call"]
    assert results[0]["has_redis"] and results[1]["redis_hits"] == 1
    assert results[1]["value"] == results[0]["value"]


def test_the_cli_shares_entries_through_redis_url_or_dbp_redis_url(
    tmp_path, redis_server, fake_bedrock, aws_env
):
    def cli(host: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        full_env = {**os.environ, **aws_env, "DBP_CACHE_DIR": str(tmp_path / host), **env}
        if "DBP_REDIS_URL" not in env:
            full_env.pop("DBP_REDIS_URL", None)
        argv = ["-m", "dbp.llm.bedrock.discovery", "--endpoint-url", fake_bedrock.url, *args]
        return subprocess.run(
            [sys.executable, *argv],
            capture_output=True,
            text=True,
            env=full_env,
            timeout=60,
        )

    first = cli("host-a", "models", "--region", "us-east-1", "--redis-url", redis_server.url)
    assert first.returncode == 0, first.stderr
    assert fake_bedrock.count(operation="ListFoundationModels") == 1

    second = cli("host-b", "models", "--region", "us-east-1", "-v", DBP_REDIS_URL=redis_server.url)
    assert second.returncode == 0, second.stderr
    assert second.stdout == first.stdout
    assert "0 API call(s)" in second.stderr  # host b's folder was empty: it came from Redis
    assert fake_bedrock.count(operation="ListFoundationModels") == 1

    alone = cli("host-c", "models", "--region", "us-east-1", "-v")  # no Redis: calls AWS
    assert alone.returncode == 0 and "1 API call(s)" in alone.stderr
    assert fake_bedrock.count(operation="ListFoundationModels") == 2
