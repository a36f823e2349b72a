"""Values come back equal from every tier; values that could not are refused clearly."""

from __future__ import annotations

import datetime as dt
import enum
import logging
import zoneinfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dbp.llm.bedrock.discovery import DiscoveryCache, discovery_cached

UTC = dt.timezone.utc

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.sampled_from([2**64 - 1, 2**64, -(2**63), -(2**63) - 1, -(2**200)])
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
    | st.datetimes(
        timezones=st.just(UTC) | st.sampled_from([dt.timezone(dt.timedelta(hours=5, minutes=30))])
    )
    | st.datetimes()
    | st.dates()
)
values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=5)
        | st.tuples(children, children)
        | st.dictionaries(st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=25,
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(value=values)
def test_any_supported_value_round_trips_through_every_tier(cache_dir, clock, value):
    writer = DiscoveryCache(base_dir=cache_dir, clock=clock)
    writer.set("k", value)
    from_memory = writer.get("k", "MISS")
    from_disk = DiscoveryCache(base_dir=cache_dir, clock=clock).get("k", "MISS")
    assert from_memory == value
    assert from_disk == value
    assert type(from_disk) is type(value) or isinstance(value, (bool, int, float))


def test_boto3_like_payload_keeps_aware_datetimes_from_disk(cache, make_cache):
    payload = {
        "modelSummaries": [
            {
                "modelId": "anthropic.claude-3-haiku-20240307-v1:0",
                "modelName": "Claude 3 Haiku — 日本語",
                "inputModalities": ["TEXT", "IMAGE"],
                "inferenceTypesSupported": ["ON_DEMAND", "INFERENCE_PROFILE"],
                "responseStreamingSupported": True,
                "modelLifecycle": {
                    "status": "ACTIVE",
                    "startOfLifeTime": dt.datetime(2024, 3, 7, tzinfo=UTC),
                },
            }
        ],
        "ResponseMetadata": {"HTTPStatusCode": 200, "RetryAttempts": 0},
    }
    cache.set("k", payload)
    got = make_cache().get("k")
    assert got == payload
    start = got["modelSummaries"][0]["modelLifecycle"]["startOfLifeTime"]
    assert isinstance(start, dt.datetime)
    assert start.tzinfo is not None


def test_zoneinfo_datetime_comes_back_as_same_instant(cache, make_cache):
    when = dt.datetime(2025, 7, 1, 9, 30, tzinfo=zoneinfo.ZoneInfo("Europe/Paris"))
    cache.set("k", when)
    got = make_cache().get("k")
    assert got == when
    assert got.utcoffset() == when.utcoffset()


class Color(enum.Enum):
    RED = 1


@pytest.mark.parametrize(
    ("value", "type_name"),
    [
        ({1, 2}, "set"),
        (object(), "object"),
        ({"a": [Color.RED]}, "Color"),
        (b"bytes", "bytes"),
        ({"x": dt.time(12, 0)}, "time"),
    ],
)
def test_unstorable_value_is_type_error_naming_key_and_type(cache, value, type_name):
    with pytest.raises(TypeError, match=rf"bedrock_models:us-east-1.*{type_name}"):
        cache.set("bedrock_models:us-east-1", value)
    assert cache.get("bedrock_models:us-east-1", "MISS") == "MISS"  # nothing half-stored


def test_non_str_dict_key_is_refused(cache):
    with pytest.raises(TypeError, match="dict key of type int"):
        cache.set("k", {1: "one"})


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_float_is_refused(cache, bad):
    with pytest.raises(ValueError, match="non-finite"):
        cache.set("k", [1.0, bad])


def _fib(n: int) -> int:
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


FIB_500 = _fib(500)  # 105 digits
HUGE = 7 * 10**9999 + 1  # 10,000 digits: beyond CPython's 4300-digit str() limit
BIG_VALUES = [
    FIB_500,
    -HUGE,
    [1, FIB_500, [2**64, -(2**63) - 1]],
    {"fib": FIB_500, "nested": {"huge": HUGE, "small": 2**64 - 1}},
    (FIB_500, (HUGE, "x"), [-(2**70)]),
]


@pytest.mark.parametrize("value", BIG_VALUES, ids=["fib500", "huge", "list", "dict", "tuple"])
def test_ints_of_any_size_round_trip_through_memory_disk_and_a_restart(
    cache_dir, make_cache, caplog, value
):
    memory_only = make_cache(base_dir=cache_dir / "mem", disk_ttl_days=0)
    memory_only.set("k", value)
    assert memory_only.get("k", "MISS") == value
    writer = make_cache()
    writer.set("k", value)
    assert writer.get("k", "MISS") == value
    restarted = make_cache(max_memory_entries=0)  # reads the file every time
    got = restarted.get("k", "MISS")
    assert got == value
    assert type(got) is type(value)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_fib_with_big_results_is_memoized_by_the_decorator(make_cache, caplog):
    calls = []
    cache = make_cache()

    @discovery_cached(key="fib:<n>", cache=cache)
    def fib(n: int) -> int:
        calls.append(n)
        return _fib(n)

    assert fib(500) == FIB_500
    assert fib(500) == FIB_500
    assert calls == [500]

    @discovery_cached(key="fib:<n>", cache=make_cache(max_memory_entries=0))
    def fib_after_restart(n: int) -> int:
        calls.append(n)
        return _fib(n)

    assert fib_after_restart(500) == FIB_500  # from the disk file: no call
    assert calls == [500]
    assert "64-bit" not in caplog.text


def test_big_int_file_is_plain_json_with_hex_text(cache):
    cache.set("k", {"n": 2**80})
    with open(cache.file_for("k"), "rb") as f:
        body = f.read().split(b"\n", 1)[1]
    assert b'"100000000000000000000"' in body  # 2**80 in hex


@pytest.mark.parametrize("disk_ttl_days", [None, 0], ids=["disk", "memory-only"])
@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_float_is_refused_naming_the_key(make_cache, disk_ttl_days, bad):
    c = make_cache(disk_ttl_days=disk_ttl_days)
    with pytest.raises(ValueError, match=r"'bedrock_models:us-east-1'.*non-finite"):
        c.set("bedrock_models:us-east-1", {"big": 2**70, "x": [1.0, bad]})
    assert c.get("bedrock_models:us-east-1", "MISS") == "MISS"


def test_memory_only_cache_refuses_the_same_values(cache_dir, clock):
    c = DiscoveryCache(base_dir=cache_dir, disk_ttl_days=0, clock=clock)
    with pytest.raises(TypeError):
        c.set("k", {1, 2})
