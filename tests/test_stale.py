"""Stale-on-error: an expired value within ``max_stale`` instead of an error, and only then.

Time is a :class:`ManualClock`: nothing here sleeps.
"""

from __future__ import annotations

import asyncio
import os
import textwrap
from datetime import timedelta

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from dbp.llm.bedrock.discovery import discovery_cached
from hardening_helpers import python, warnings_matching

MEMORY_TTL, DISK_TTL, MAX_STALE = 60, 600, 3600


def _client_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}}, "ListFoundationModels")


def is_throttling(exc: BaseException) -> bool:
    return isinstance(exc, ClientError) and exc.response["Error"]["Code"] == "ThrottlingException"


class Upstream:
    """A discovery call that succeeds or raises on demand and counts its calls."""

    def __init__(self) -> None:
        self.calls = 0
        self.error: BaseException | None = None
        self.version = 0

    def __call__(self, region: str) -> dict:
        self.calls += 1
        if self.error is not None:
            raise self.error
        self.version += 1
        return {"region": region, "version": self.version}


def _decorate(cache, upstream, serve=True, **kw):
    kw.setdefault("memory_ttl", MEMORY_TTL)
    kw.setdefault("disk_ttl", DISK_TTL)
    kw.setdefault("max_stale", MAX_STALE)

    @discovery_cached(key="stale_models:<region>", cache=cache, serve_stale_on_error=serve, **kw)
    def list_models(region):
        return upstream(region)

    return list_models


@pytest.mark.parametrize(
    ("serve", "error"),
    [
        (is_throttling, _client_error("ThrottlingException")),
        ((EndpointConnectionError, ConnectionError), EndpointConnectionError(endpoint_url="x")),
        ((EndpointConnectionError, ConnectionError), ConnectionResetError("reset by peer")),
        (TimeoutError, TimeoutError("read timed out")),
        (True, RuntimeError("anything")),
    ],
    ids=["throttling-predicate", "network-error", "connection-reset", "listed-class", "true"],
)
def test_matching_error_serves_the_expired_value_with_a_warning(
    cache, clock, warnings_log, serve, error
):
    upstream = Upstream()
    list_models = _decorate(cache, upstream, serve)
    assert list_models("us-east-1") == {"region": "us-east-1", "version": 1}
    clock.advance(DISK_TTL + 100)  # expired in both tiers, well within max_stale
    upstream.error = error
    assert list_models("us-east-1") == {"region": "us-east-1", "version": 1}
    assert upstream.calls == 2  # the upstream was tried first
    info = list_models.cache_info()
    assert info.stale_hits == 1
    warned = warnings_matching(warnings_log, "serving the value for 'stale_models:us-east-1'")
    assert len(warned) == 1 and type(error).__name__ in warned[0]


@pytest.mark.parametrize(
    ("serve", "error"),
    [
        (is_throttling, _client_error("AccessDeniedException")),
        (EndpointConnectionError, _client_error("ThrottlingException")),
        (TimeoutError, ValueError("a bug, not an outage")),
        (False, RuntimeError("stale-on-error is off")),
    ],
    ids=["other-client-error", "unlisted-class", "unlisted-builtin", "off"],
)
def test_a_non_matching_error_is_raised_even_with_a_stale_value(cache, clock, serve, error):
    upstream = Upstream()
    kw = {} if serve else {"max_stale": None}
    list_models = _decorate(cache, upstream, serve, **kw)
    list_models("us-east-1")
    clock.advance(DISK_TTL + 100)
    upstream.error = error
    with pytest.raises(type(error)):
        list_models("us-east-1")
    assert list_models.cache_info().stale_hits == 0


def test_base_exceptions_are_never_answered_with_stale_values(cache, clock):
    upstream = Upstream()
    list_models = _decorate(cache, upstream, True)
    list_models("us-east-1")
    clock.advance(DISK_TTL + 1)
    upstream.error = KeyboardInterrupt()
    with pytest.raises(KeyboardInterrupt):
        list_models("us-east-1")


def test_without_any_stored_value_the_error_is_raised(cache):
    upstream = Upstream()
    upstream.error = _client_error("ThrottlingException")
    list_models = _decorate(cache, upstream, is_throttling)
    with pytest.raises(ClientError):
        list_models("us-east-1")
    assert list_models.cache_info().stale_hits == 0


def test_another_keys_stale_value_is_never_served(cache, clock):
    upstream = Upstream()
    list_models = _decorate(cache, upstream, True)
    list_models("us-east-1")
    clock.advance(DISK_TTL + 1)
    upstream.error = RuntimeError("down")
    with pytest.raises(RuntimeError):
        list_models("eu-west-1")
    assert list_models("us-east-1")["region"] == "us-east-1"


def test_past_max_stale_the_error_is_raised(cache, clock):
    upstream = Upstream()
    list_models = _decorate(cache, upstream, True)
    list_models("us-east-1")
    clock.advance(DISK_TTL + MAX_STALE - 1)
    upstream.error = RuntimeError("down")
    assert list_models("us-east-1")["version"] == 1  # one second of grace left
    clock.advance(2)
    with pytest.raises(RuntimeError):
        list_models("us-east-1")
    assert list_models.cache_info().stale_hits == 1


def test_max_stale_as_timedelta(cache, clock):
    upstream = Upstream()
    list_models = _decorate(cache, upstream, True, max_stale=timedelta(minutes=5))
    list_models("us-east-1")
    clock.advance(DISK_TTL + 299)
    upstream.error = RuntimeError("down")
    assert list_models("us-east-1")["version"] == 1
    clock.advance(2)
    with pytest.raises(RuntimeError):
        list_models("us-east-1")


def test_memory_only_function_serves_stale_from_memory(cache, clock):
    upstream = Upstream()
    list_models = _decorate(cache, upstream, True, disk_ttl=0)
    list_models("us-east-1")
    assert not os.path.exists(cache.file_for("stale_models:us-east-1"))
    clock.advance(MEMORY_TTL + 10)
    upstream.error = RuntimeError("down")
    assert list_models("us-east-1")["version"] == 1
    assert list_models.cache_info().stale_hits == 1


def test_a_successful_call_after_a_stale_serve_refreshes(cache, clock):
    upstream = Upstream()
    list_models = _decorate(cache, upstream, True)
    list_models("us-east-1")
    clock.advance(DISK_TTL + 1)
    upstream.error = RuntimeError("down")
    assert list_models("us-east-1")["version"] == 1
    upstream.error = None
    assert list_models("us-east-1")["version"] == 2  # not stuck on the stale value
    assert list_models("us-east-1")["version"] == 2  # and cached again


def test_stale_value_survives_a_restart(clock, make_cache):
    """The entry was written by an earlier "process" (a new instance: empty memory)."""
    upstream = Upstream()
    _decorate(make_cache(), upstream, True)("us-east-1")
    clock.advance(DISK_TTL + 100)
    upstream.error = RuntimeError("down")
    after_restart = _decorate(make_cache(), upstream, True)
    assert after_restart("us-east-1") == {"region": "us-east-1", "version": 1}
    assert after_restart.cache_info().stale_hits == 1


WRITER = textwrap.dedent(
    """
    import sys
    from dbp.llm.bedrock.discovery import DiscoveryCache, ManualClock, discovery_cached
    cache = DiscoveryCache(base_dir=sys.argv[1], clock=ManualClock(float(sys.argv[2])))

    @discovery_cached(key="stale_models:<region>", cache=cache, memory_ttl=60, disk_ttl=600,
                      serve_stale_on_error=True, max_stale=3600)
    def list_models(region):
        return {"region": region, "version": "from the earlier process"}

    list_models("us-east-1")
    """
)


def test_stale_value_written_by_an_earlier_process_is_served(cache, clock):
    done = python(WRITER, cache.base_dir, repr(clock.time()))
    assert done.returncode == 0, done.stderr
    clock.advance(DISK_TTL + 100)
    upstream = Upstream()
    upstream.error = _client_error("ThrottlingException")
    list_models = _decorate(cache, upstream, is_throttling)
    assert list_models("us-east-1") == {
        "region": "us-east-1",
        "version": "from the earlier process",
    }
    assert list_models.cache_info().stale_hits == 1
    clock.advance(MAX_STALE)  # now past max_stale too
    with pytest.raises(ClientError):
        list_models("us-east-1")


def test_cleanup_keeps_entries_within_max_stale_and_removes_them_after(cache, clock, make_cache):
    upstream = Upstream()
    list_models = _decorate(cache, upstream, True)
    list_models("us-east-1")
    cache.set("plain", 1, disk_ttl=DISK_TTL)  # no stale window
    path = cache.file_for("stale_models:us-east-1")

    clock.advance(DISK_TTL + 1)
    assert cache.cleanup() == 1  # "plain" went, the stale-on-error entry stays
    assert os.path.exists(path)
    upstream.error = RuntimeError("down")
    assert _decorate(make_cache(), upstream, True)("us-east-1")["version"] == 1

    clock.advance(MAX_STALE)
    assert cache.cleanup() == 1
    assert not os.path.exists(path)
    with pytest.raises(RuntimeError):
        _decorate(make_cache(), upstream, True)("us-east-1")


def test_async_function_serves_stale_on_error(cache, clock):
    state = {"fail": False, "calls": 0}

    @discovery_cached(
        key="stale_async:<region>",
        cache=cache,
        memory_ttl=MEMORY_TTL,
        disk_ttl=DISK_TTL,
        serve_stale_on_error=ConnectionError,
        max_stale=MAX_STALE,
    )
    async def list_models(region):
        state["calls"] += 1
        if state["fail"]:
            raise ConnectionError("down")
        return [region]

    assert asyncio.run(list_models("us-east-1")) == ["us-east-1"]
    clock.advance(DISK_TTL + 1)
    state["fail"] = True
    assert asyncio.run(list_models("us-east-1")) == ["us-east-1"]
    assert list_models.cache_info().stale_hits == 1
    assert state["calls"] == 2
