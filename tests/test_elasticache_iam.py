"""IAM authentication for ElastiCache and MemoryDB (``dbp.aws.ElastiCacheIAM``).

The token is checked against a SigV4 presign computed here from the AWS
specification (hashlib/hmac, not botocore) for a fixed clock and fixed credentials;
then a real redis-server whose ACL user's password is the provider's current token
lets the cache in, and after the clock passes 10 minutes only the new token works.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import logging
import subprocess
import sys
import urllib.parse

import boto3
import pytest

from dbp.aws import ElastiCacheIAM
from dbp.cache import TieredCache
from dbp.llm.bedrock.discovery import ManualClock, default_cache
from redis_server import command

KEY_ID, SECRET = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
NOW = 1_700_000_000.0  # 2023-11-14T22:13:20Z


def session(token: str | None = None) -> boto3.Session:
    return boto3.Session(
        aws_access_key_id=KEY_ID,
        aws_secret_access_key=SECRET,
        aws_session_token=token,
        region_name="eu-west-1",
    )


def _quote(text: str) -> str:
    return urllib.parse.quote(text, safe="-_.~")


def expected_token(
    host: str, query: dict[str, str], service: str, region: str, now: float, token: str | None
) -> str:
    """A SigV4 query-string presign of ``GET http://host/?query``, from the AWS spec."""
    stamp = datetime.datetime.fromtimestamp(now, datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    scope = f"{stamp[:8]}/{region}/{service}/aws4_request"
    params = {
        **query,
        "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
        "X-Amz-Credential": f"{KEY_ID}/{scope}",
        "X-Amz-Date": stamp,
        "X-Amz-Expires": "900",
        "X-Amz-SignedHeaders": "host",
    }
    if token is not None:
        params["X-Amz-Security-Token"] = token
    canonical_query = "&".join(f"{_quote(k)}={_quote(v)}" for k, v in sorted(params.items()))
    canonical_request = "\n".join(
        ["GET", "/", canonical_query, f"host:{host}", "", "host", hashlib.sha256(b"").hexdigest()]
    )
    string_to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", stamp, scope, hashlib.sha256(canonical_request.encode()).hexdigest()]
    )
    key = f"AWS4{SECRET}".encode()
    for part in (stamp[:8], region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    query_string = "&".join(f"{_quote(k)}={_quote(v)}" for k, v in params.items())
    return f"{host}/?{query_string}&X-Amz-Signature={signature}"


@pytest.mark.parametrize(
    ("kwargs", "service", "query"),
    [
        ({}, "elasticache", {"Action": "connect", "User": "app-user"}),
        (
            {"serverless": True},
            "elasticache",
            {"Action": "connect", "User": "app-user", "ResourceType": "ServerlessCache"},
        ),
        ({"service": "memorydb"}, "memorydb", {"Action": "connect", "User": "app-user"}),
    ],
)
@pytest.mark.parametrize("security_token", [None, "FwoGZXIvYXdzE//session+token=="])
def test_the_token_is_the_sigv4_presign_of_the_connect_request(
    kwargs, service, query, security_token
):
    provider = ElastiCacheIAM(
        "app-user",
        "My-Cache",
        "us-east-1",
        session=session(security_token),
        clock=lambda: NOW,
        **kwargs,
    )
    user, password = provider.get_credentials()
    assert user == "app-user"
    assert password == expected_token("my-cache", query, service, "us-east-1", NOW, security_token)
    assert not password.startswith("http")


def test_a_token_is_reused_for_at_most_ten_minutes():
    clock = ManualClock(NOW)
    provider = ElastiCacheIAM("app-user", "my-cache", session=session(), clock=clock.time)
    assert provider.region == "eu-west-1"  # the session's region by default
    first = provider.get_credentials()[1]
    clock.advance(599)
    assert provider.get_credentials()[1] == first
    clock.advance(1)
    second = provider.get_credentials()[1]
    assert second != first
    assert second == expected_token(
        "my-cache",
        {"Action": "connect", "User": "app-user"},
        "elasticache",
        "eu-west-1",
        NOW + 600,
        None,
    )


def set_password(port: int, user: str, password: str) -> None:
    reply = command(
        port, "ACL", "SETUSER", user, "on", "resetpass", f">{password}", "~*", "&*", "+@all"
    )
    assert reply == b"+OK\r\n", reply


def test_a_real_server_lets_in_the_current_token_and_refuses_the_old_one(redis_server, tmp_path):
    import redis

    clock = ManualClock(NOW)
    provider = ElastiCacheIAM(
        "app-user", "my-cache", "us-east-1", session=session(), clock=clock.time
    )
    old = provider.get_credentials()[1]
    set_password(redis_server.port, "app-user", old)

    def host(name: str) -> TieredCache:
        return TieredCache(
            base_dir=tmp_path / name,
            redis_url=redis_server.url,  # no password in the URL: the provider signs in
            redis_credential_provider=provider,
            redis_socket_timeout=1.0,
            redis_connect_timeout=1.0,
            clock=clock,
        )

    a, b = host("a"), host("b")
    a.set("k", "shared")
    assert b.get("k") == "shared" and b.redis.get("k").value == "shared"

    clock.advance(601)  # past the 10 minutes: the next connection gets a new token
    new = provider.get_credentials()[1]
    assert new != old
    set_password(redis_server.port, "app-user", new)  # as AWS would accept only a valid one
    with pytest.raises(redis.exceptions.AuthenticationError):
        redis.Redis(port=redis_server.port, username="app-user", password=old).ping()
    c = host("c")
    assert c.redis.get("k").value == "shared"
    # The server drops a's connections (as ElastiCache does after 12 hours): a's next
    # command reconnects with the new token on its one immediate retry.
    killed = command(redis_server.port, "CLIENT", "KILL", "USER", "app-user")
    if not killed.startswith(b"-NOPERM"):  # (the "restricted" server refuses CLIENT KILL)
        assert killed.startswith(b":") and int(killed[1:]) >= 1, killed
        assert a.redis.get("k").value == "shared"
    for cache in (a, b, c):
        cache.close()


def test_no_aws_credentials_is_a_fault_of_the_tier_not_of_the_call(
    redis_server, tmp_path, monkeypatch, caplog
):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", raising=False)
    caplog.set_level(logging.WARNING, logger="dbp.cache")
    cache = TieredCache(
        base_dir=tmp_path / "a",
        redis_url=redis_server.url,
        redis_credential_provider=ElastiCacheIAM("app-user", "my-cache", "us-east-1"),
    )
    calls = []
    compute = lambda: calls.append(1) or "value"  # noqa: E731
    assert cache.get_or_compute("k", compute) == "value"
    assert cache.get_or_compute("k", compute) == "value" and calls == [1]
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1 and "no AWS credentials found" in warnings[0], warnings
    cache.close()


def test_the_spec_of_the_cli_and_the_environment():
    provider = ElastiCacheIAM.from_spec(
        "user_id=app-user, cache_name=my-cache,region=us-west-2,serverless=true"
    )
    assert (provider.user_id, provider.cache_name, provider.region, provider.serverless) == (
        "app-user", "my-cache", "us-west-2", True,
    )  # fmt: skip
    memorydb = ElastiCacheIAM.from_spec("user_id=u,cache_name=c,region=us-east-1,service=memorydb")
    assert memorydb.service == "memorydb" and not memorydb.serverless
    for spec, message in (
        ("user_id=u,region=us-east-1", "cache_name missing"),
        ("user_id=u,cache_name=c,regoin=us-east-1", "'regoin=us-east-1' is not one of"),
        (
            "user_id=u,cache_name=c,region=us-east-1,serverless=maybe",
            "serverless must be true or false",
        ),
        ("user_id=u,cache_name=c,region=useast1", "region must look like 'us-east-1'"),
        ("user_id=u,cache_name=c,region=us-east-1,service=dynamodb", "service must be one of"),
    ):
        with pytest.raises(ValueError, match=message):
            ElastiCacheIAM.from_spec(spec)


def test_the_default_cache_signs_in_with_dbp_redis_iam(redis_server, monkeypatch):
    monkeypatch.setenv("DBP_REDIS_URL", redis_server.url)
    monkeypatch.setenv("DBP_REDIS_IAM", "user_id=env-user,cache_name=env-cache,region=us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    cache = default_cache()
    user, token = cache.redis.options.credential_provider.get_credentials()
    assert user == "env-user" and token.startswith("env-cache/?Action=connect&User=env-user&")
    set_password(redis_server.port, "env-user", token)
    command(redis_server.port, "ACL", "SETUSER", "default", "off")  # only IAM gets in now
    cache.set("k", "via IAM")
    assert cache.redis.get("k").value == "via IAM"
    cache.close()


def test_a_bad_dbp_redis_iam_warns_once_and_runs_without_the_tier(
    redis_server, monkeypatch, caplog
):
    monkeypatch.setenv("DBP_REDIS_URL", redis_server.url)
    monkeypatch.setenv("DBP_REDIS_IAM", "user=app")
    caplog.set_level(logging.WARNING, logger="dbp.llm.bedrock.discovery")
    cache = default_cache()
    assert cache.redis is None
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1 and "$DBP_REDIS_IAM: bad IAM spec 'user=app'" in warnings[0]


def test_the_cli_refuses_a_bad_redis_iam_naming_the_option(redis_server):
    done = subprocess.run(
        [sys.executable, "-m", "dbp.llm.bedrock.discovery", "--redis-url", redis_server.url,
         "--redis-iam", "user_id=u", "cache", "info"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2 and "--redis-iam: bad IAM spec 'user_id=u'" in done.stderr
    assert "cache_name missing" in done.stderr
