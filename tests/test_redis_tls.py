"""The fleet tier over TLS (``rediss://``) against a real TLS-only redis-server.

Certificates are made at test time (:mod:`tls_files`). The server's certificate and
host name are checked by default; a CA bundle, client certificate and key come as
options, URL query parameters, CLI options or environment variables. A certificate
that does not verify is a fault: one warning naming the CA, calls served locally.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys

import pytest

from dbp.cache import TieredCache, discovery_cached
from redis_server import RedisServer, require_redis
from test_fleet_cli import DEFAULT_CACHE_USER


@pytest.fixture
def tls_server(tmp_path, tls_files):
    require_redis()
    server = RedisServer(tmp_path / "tls", tls=tls_files).start()
    yield server
    server.close()


@pytest.fixture
def make_host(tmp_path):
    caches: list[TieredCache] = []

    def make(name: str, url: str, **kwargs) -> TieredCache:
        kwargs.setdefault("redis_socket_timeout", 1.0)
        kwargs.setdefault("redis_connect_timeout", 1.0)
        cache = TieredCache(base_dir=tmp_path / f"host-{name}", redis_url=url, **kwargs)
        caches.append(cache)
        return cache

    yield make
    for cache in caches:
        cache.close()


def shared_calls(a: TieredCache, b: TieredCache) -> tuple[list[str], object]:
    calls: list[str] = []

    def upstream(region: str) -> dict:
        calls.append(region)
        return {"region": region}

    fa = discovery_cached(key="tls_models:<region>", cache=a)(upstream)
    fb = discovery_cached(key="tls_models:<region>", cache=b)(upstream)
    assert fa("us-east-1") == fb("us-east-1") == {"region": "us-east-1"}
    return calls, fb.cache_info().redis_hits


def test_rediss_with_the_ca_option_shares_entries_between_hosts(tls_server, tls_files, make_host):
    assert tls_server.url.startswith("rediss://localhost:")
    a = make_host("a", tls_server.url, redis_ssl_ca_certs=tls_files.ca)
    b = make_host("b", tls_server.url, redis_ssl_ca_certs=str(tls_files.ca))
    calls, redis_hits = shared_calls(a, b)
    assert calls == ["us-east-1"] and redis_hits == 1

    async def from_asyncio():
        assert await b.redis.aset("k", _entry(b, "async over TLS")) is True
        found = (await a.redis.aget("k")).value
        await a.redis.aclose()
        await b.redis.aclose()
        return found

    assert asyncio.run(from_asyncio()) == "async over TLS"


def _entry(cache, value):
    from dbp.cache.entry import Entry

    now = cache.clock.time()
    return Entry(value, now, now + 60, now + 60, None)


def test_client_certificate_and_key_as_options_or_url_query(tmp_path, tls_files, make_host, caplog):
    require_redis()
    server = RedisServer(tmp_path / "mtls", None, "--tls-auth-clients", "yes", tls=tls_files)
    server.start()
    try:
        a = make_host(
            "a",
            server.url,
            redis_ssl_ca_certs=tls_files.ca,
            redis_ssl_certfile=tls_files.client_cert,
            redis_ssl_keyfile=tls_files.client_key,
        )
        query = (
            f"?ssl_ca_certs={tls_files.ca}&ssl_certfile={tls_files.client_cert}"
            f"&ssl_keyfile={tls_files.client_key}&ssl_cert_reqs=required"
        )
        b = make_host("b", server.url + query)
        calls, redis_hits = shared_calls(a, b)
        assert calls == ["us-east-1"] and redis_hits == 1

        # Without a client certificate this server refuses the handshake: a fault,
        # computed locally, not a certificate-verification warning.
        caplog.set_level(logging.WARNING, logger="dbp.cache")
        c = make_host("c", server.url, redis_ssl_ca_certs=tls_files.ca)
        assert c.redis.get("anything") is not None  # MISS, and no exception
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1 and "did not verify" not in warnings[0], warnings
    finally:
        server.close()


@pytest.mark.parametrize("ca", ["system", "other"])
def test_an_unverifiable_certificate_is_one_warning_naming_the_ca(
    tls_server, tls_files, make_host, caplog, ca
):
    caplog.set_level(logging.DEBUG, logger="dbp.cache")
    options = {} if ca == "system" else {"redis_ssl_ca_certs": tls_files.other_ca}
    cache = make_host("a", tls_server.url, **options)
    calls: list[int] = []

    @discovery_cached(key="tls_unverified:<n>", cache=cache)
    def compute(n: int) -> int:
        calls.append(n)
        return n * 2

    assert [compute(n) for n in range(5)] == [0, 2, 4, 6, 8]
    assert [compute(n) for n in range(5)] == [0, 2, 4, 6, 8]  # from the local tiers
    assert calls == [0, 1, 2, 3, 4]
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1, warnings
    authority = (
        "the system's default CA certificates" if ca == "system" else str(tls_files.other_ca)
    )
    assert "TLS certificate did not verify against" in warnings[0] and authority in warnings[0]


def test_the_host_name_is_checked_by_default(tmp_path, tls_files, make_host, caplog):
    require_redis()
    # Signed by the trusted CA, but for another name: only the host name check fails.
    server = RedisServer(
        tmp_path / "wrong-name",
        None,
        "--tls-cert-file",
        str(tls_files.wrong_name_cert),
        "--tls-key-file",
        str(tls_files.wrong_name_key),
        tls=tls_files,
    )
    server.start()
    try:
        caplog.set_level(logging.WARNING, logger="dbp.cache")
        cache = make_host("a", server.url, redis_ssl_ca_certs=tls_files.ca)
        cache.set("k", 1)
        warnings = [r.getMessage() for r in caplog.records]
        assert len(warnings) == 1 and "did not verify" in warnings[0], warnings
        assert "localhost" in warnings[0]  # OpenSSL names the host it could not match
        # Turning checks off is the URL's explicit choice (never a default).
        insecure = make_host("b", server.url + "?ssl_cert_reqs=none")
        assert insecure.redis.set("k", _entry(insecure, 2)) is True
    finally:
        server.close()


def test_tls_options_are_checked_when_the_cache_is_built(tmp_path, tls_files, tls_server):
    with pytest.raises(ValueError, match="redis_ssl_ca_certs needs a TLS URL"):
        TieredCache(
            base_dir=tmp_path, redis_url="redis://127.0.0.1:1/0", redis_ssl_ca_certs=tls_files.ca
        )
    with pytest.raises(
        ValueError, match=r"redis_ssl_ca_certs '.*missing.pem' is not a readable file"
    ):
        TieredCache(
            base_dir=tmp_path, redis_url=tls_server.url, redis_ssl_ca_certs=tmp_path / "missing.pem"
        )
    with pytest.raises(ValueError, match="redis_ssl_keyfile needs redis_ssl_certfile"):
        TieredCache(
            base_dir=tmp_path, redis_url=tls_server.url, redis_ssl_keyfile=tls_files.client_key
        )


def test_tls_files_from_the_environment_and_the_cli(
    tmp_path, tls_server, tls_files, fake_bedrock, aws_env
):
    counter = tmp_path / "calls.log"
    for host in ("a", "b"):  # the default cache: $DBP_REDIS_URL + $DBP_REDIS_SSL_CA_CERTS
        env = {
            **os.environ,
            "DBP_CACHE_DIR": str(tmp_path / f"env-{host}"),
            "DBP_REDIS_URL": tls_server.url,
            "DBP_REDIS_SSL_CA_CERTS": str(tls_files.ca),
            "COUNTER": str(counter),
        }
        done = subprocess.run(
            [sys.executable, "-c", DEFAULT_CACHE_USER],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0 and "WARNING" not in done.stderr, done.stderr
        result = json.loads(done.stdout)
    assert counter.read_text().splitlines() == ["call"] and result["redis_hits"] == 1

    def cli(host: str, *args: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, **aws_env, "DBP_CACHE_DIR": str(tmp_path / f"cli-{host}")}
        argv = ["-m", "dbp.llm.bedrock.discovery", "--endpoint-url", fake_bedrock.url, *args]
        return subprocess.run(
            [sys.executable, *argv], capture_output=True, text=True, env=env, timeout=60
        )

    options = ("--redis-url", tls_server.url, "--redis-ssl-ca-certs", str(tls_files.ca))
    first = cli("a", "models", "--region", "us-east-1", *options)
    second = cli("b", "models", "--region", "us-east-1", "-v", *options)
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert "0 API call(s)" in second.stderr and "WARNING" not in second.stderr
    assert fake_bedrock.count(operation="ListFoundationModels") == 1
