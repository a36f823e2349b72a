"""Fixtures for the Bedrock tests: a local Bedrock stand-in and real boto3 clients for it."""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from dbp.llm.bedrock.discovery.bedrock.errors import RetryPolicy
from dbp.llm.bedrock.discovery.testing import FakeBedrockServer

ACCESS_KEY = "AKIDTESTACCOUNT1"


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    """Credentials for the stand-in only; no user AWS config can leak into a test."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    empty = tmp_path / "aws-empty"
    empty.write_text("")
    env = {
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": "test-secret",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(empty),
        "AWS_SHARED_CREDENTIALS_FILE": str(empty),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture
def fake_bedrock(aws_env: dict[str, str]) -> Iterator[FakeBedrockServer]:
    """The Bedrock-compatible server on 127.0.0.1, with the default eight-region catalogue."""
    with FakeBedrockServer() as server:
        yield server


@pytest.fixture
def session(aws_env: dict[str, str]):
    return session_for(ACCESS_KEY)


def session_for(access_key: str):
    """A boto3 session whose requests the stand-in attributes to ``access_key``'s account."""
    import boto3

    return boto3.Session(
        aws_access_key_id=access_key, aws_secret_access_key="test-secret", region_name="us-east-1"
    )


class SleepRecorder:
    """An injectable ``sleep`` that only records: retries cost no wall time."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()


@pytest.fixture
def fast_retry(sleeps: SleepRecorder) -> RetryPolicy:
    return RetryPolicy(attempts=3, base_delay=0.5, max_delay=2.0, sleep=sleeps)


@pytest.fixture
def on_stand_in(fake_bedrock, session, cache, fast_retry):
    """``on_stand_in(Class, **options)``: a Bedrock discovery object (models, profiles,
    access, resolver) on real boto3 clients pointed at the stand-in, with the test's
    cache and a retry policy that records its sleeps instead of sleeping."""

    def build(cls, **kwargs):
        kwargs.setdefault("endpoint_url", fake_bedrock.url)
        kwargs.setdefault("cache", cache)
        kwargs.setdefault("retry", fast_retry)
        return cls(kwargs.pop("session", session), **kwargs)

    return build


@pytest.fixture
def make_models(on_stand_in):
    """``BedrockModelDiscovery`` on real boto3 clients pointed at the stand-in."""
    from dbp.llm.bedrock.discovery.bedrock.models import BedrockModelDiscovery

    return functools.partial(on_stand_in, BedrockModelDiscovery)


@pytest.fixture
def make_profiles(on_stand_in):
    """``BedrockProfileDiscovery`` on real boto3 clients pointed at the stand-in."""
    from dbp.llm.bedrock.discovery.bedrock.profiles import BedrockProfileDiscovery

    return functools.partial(on_stand_in, BedrockProfileDiscovery)


@pytest.fixture
def discovery_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="dbp.llm.bedrock.discovery")
    return caplog
