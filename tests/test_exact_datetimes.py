"""Datetimes come back exactly from every tier: offsets to the microsecond, named zones.

Memory, a fresh instance's disk and a Redis-only reader (a real redis-server) must
answer equal values that behave the same, across a DST change included.
"""

from __future__ import annotations

import datetime as dt
import os
import zoneinfo
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dbp.cache import ManualClock
from dbp.llm.bedrock.discovery import DiscoveryCache

AMS = zoneinfo.ZoneInfo("Europe/Amsterdam")
NY = zoneinfo.ZoneInfo("America/New_York")

EXACT = {
    "offset_with_seconds": dt.datetime(
        2024, 5, 1, 12, tzinfo=dt.timezone(dt.timedelta(seconds=3661))
    ),
    "negative_offset_with_seconds": dt.datetime(
        2024, 5, 1, tzinfo=dt.timezone(-dt.timedelta(hours=3, seconds=7))
    ),
    "offset_with_microseconds": dt.datetime(
        2024, 5, 1, tzinfo=dt.timezone(dt.timedelta(microseconds=3661))
    ),
    "amsterdam_1900": dt.datetime(1900, 1, 1, 12, tzinfo=AMS),  # +00:19:32
    "zoneinfo_summer": dt.datetime(2024, 7, 1, 9, 30, tzinfo=AMS),
    "before_dst_ends": dt.datetime(2024, 10, 26, 12, tzinfo=AMS),
    "ambiguous_first": dt.datetime(2024, 10, 27, 2, 30, tzinfo=AMS),
    "ambiguous_second": dt.datetime(2024, 10, 27, 2, 30, fold=1, tzinfo=AMS),
    "skipped_wall_time": dt.datetime(2024, 3, 10, 2, 30, tzinfo=NY),
    "nested": [{"at": (dt.datetime(2024, 3, 9, 8, tzinfo=NY), dt.date(2024, 3, 9))}],
}


@pytest.fixture
def three_tiers(tmp_path: Path, redis_server) -> Iterator:
    """``read(key)``: the value from memory, from disk (fresh instance), from Redis alone."""
    clock = ManualClock()
    writer = DiscoveryCache(base_dir=tmp_path / "host", clock=clock, redis_url=redis_server.url)
    disk = DiscoveryCache(base_dir=tmp_path / "host", clock=clock, max_memory_entries=0)
    fleet = DiscoveryCache(
        base_dir=tmp_path / "other-host",
        clock=clock,
        redis_url=redis_server.url,
        max_memory_entries=0,
        disk_ttl_days=0,
    )

    def read(key: str, value: object) -> list[object]:
        writer.set(key, value)
        return [writer.get(key, "MISS"), disk.get(key, "MISS"), fleet.get(key, "MISS")]

    try:
        yield read
    finally:
        writer.close()
        fleet.close()
    assert not os.path.exists(fleet.cache_dir)


def _walk_datetimes(value: object) -> Iterator[dt.datetime]:
    if isinstance(value, dt.datetime):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _walk_datetimes(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _walk_datetimes(v)


@pytest.mark.parametrize("name", sorted(EXACT))
def test_every_tier_answers_the_same_datetime(three_tiers, name):
    value = EXACT[name]
    answers = three_tiers(name, value)
    for tier, got in zip(("memory", "disk", "redis"), answers, strict=True):
        assert got == value, tier
        for sent, back in zip(_walk_datetimes(value), _walk_datetimes(got), strict=True):
            assert back.utcoffset() == sent.utcoffset(), tier
            assert back.fold == sent.fold, tier
            assert (back.tzinfo is sent.tzinfo) or (
                type(back.tzinfo) is dt.timezone and back.tzinfo == sent.tzinfo
            ), tier
            day_later = back + dt.timedelta(days=1)  # zone-aware arithmetic, across DST too
            assert day_later.isoformat() == (sent + dt.timedelta(days=1)).isoformat(), tier
            assert day_later.utcoffset() == (sent + dt.timedelta(days=1)).utcoffset(), tier


def test_a_zoned_datetime_keeps_its_zone_across_dst_from_every_tier(three_tiers):
    saturday = dt.datetime(2024, 10, 26, 12, tzinfo=AMS)  # CEST, +02:00
    answers = three_tiers("dst", saturday)
    sunday = {(a + dt.timedelta(days=1)).isoformat() for a in answers}
    assert sunday == {"2024-10-27T12:00:00+01:00"}  # CET after the change, in every tier
    assert {a.tzinfo.key for a in answers} == {"Europe/Amsterdam"}


# -- the disk format: old records still read; unknown types are misses --------------------
OLD_RECORD = (
    b'{"v":3,"key":"old","created":1000.0,"expires":9000000000.0,"stale_until":9000000000.0,'
    b'"n":71}\n[{"datetime":[[[],null,[]]]},"2024-05-01T12:00:00+02:00"]'
)


def _write_record(cache: DiscoveryCache, key: str, record: bytes) -> str:
    os.makedirs(cache.cache_dir, exist_ok=True)
    path = cache.file_for(key)
    header, body = record.split(b"\n", 1)
    header = header.replace(b'"n":71', f'"n":{len(body)}'.encode())
    with open(path, "wb") as f:
        f.write(header + b"\n" + body)
    return path


def test_a_record_written_before_exact_datetimes_still_reads(cache):
    _write_record(cache, "old", OLD_RECORD)
    expected = dt.datetime(2024, 5, 1, 12, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert cache.get("old", "MISS") == expected


def test_a_type_this_version_does_not_know_is_a_miss_and_not_removed(cache):
    newer = OLD_RECORD.replace(b'"datetime"', b'"datetime_from_the_future"')
    path = _write_record(cache, "old", newer)
    assert cache.get("old", "MISS") == "MISS"
    assert cache.cleanup() == 0
    assert os.path.exists(path)  # a newer version's record, not damage


fixed_offsets = st.timedeltas(
    min_value=-dt.timedelta(hours=23, minutes=59), max_value=dt.timedelta(hours=23, minutes=59)
).map(dt.timezone)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(value=st.datetimes(timezones=st.timezones() | fixed_offsets, allow_imaginary=True))
def test_any_aware_datetime_comes_back_exactly_from_disk(cache_dir, clock, value):
    DiscoveryCache(base_dir=cache_dir, clock=clock).set("k", [value])
    (back,) = DiscoveryCache(base_dir=cache_dir, clock=clock, max_memory_entries=0).get("k")
    assert back == value
    assert back.utcoffset() == value.utcoffset()
    assert back.fold == value.fold
    assert back.tzinfo is value.tzinfo or back.tzinfo == value.tzinfo
