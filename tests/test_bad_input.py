"""Hostile keys, files and values: clear errors or correct answers, never a wrong value.

- Keys of every awkward shape either work (from every tier) or fail with a
  clear error, and nothing is ever written outside the cache folder.
- Files: hypothesis fuzzes arbitrary bytes placed as a key's cache file, and
  valid envelopes with each header field replaced by arbitrary JSON: ``get``
  never raises and never answers with a value stored for another key.
- A symlink planted in the cache folder is never followed for reads, writes or
  deletes.
- Values: a 50 MB value works from a fresh instance; recursion-deep values are
  a ``ValueError`` naming the key.
"""

from __future__ import annotations

import json
import os
import textwrap

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dbp.llm.bedrock.discovery import DiscoveryCache, ManualClock, discovery_cached
from hardening_helpers import files_under, python, record, warnings_matching

MISSING = object()

AWKWARD_KEYS = {
    "very-long-100kB": "k" * 100_000,
    "non-ascii": "bedrock_models:région-東京-🚀",
    "slash": "a/b/c",
    "dotdot": "../../../../etc/passwd",
    "only-dots": "..",
    "absolute": "/etc/shadow",
    "nul": "a\x00b",
    "newline": "line\nbreak",
    "crlf": '\r\n{"v":2}',
    "hidden-temp-like": ".x.dbpc.1.ab.tmp",
    "backslash": "..\\..\\win",
    "whitespace": "   ",
}


# -- keys ---------------------------------------------------------------------------
@pytest.mark.parametrize("key", list(AWKWARD_KEYS.values()), ids=list(AWKWARD_KEYS))
def test_awkward_keys_work_from_both_tiers_and_stay_inside_the_folder(
    tmp_path, clock, make_cache, key
):
    before = files_under(str(tmp_path))
    cache = make_cache()
    cache.set(key, {"for": key})
    assert cache.get(key) == {"for": key}
    assert make_cache().get(key) == {"for": key}  # from disk
    other = "other:" + key
    assert make_cache().get(other, MISSING) is MISSING

    @discovery_cached(key="tpl:<arg>", cache=cache)
    def f(arg):
        return [arg]

    assert f(key) == [key]
    assert make_cache().get("tpl:" + key) == [key]

    created = files_under(str(tmp_path)) - before
    cache_dir = os.path.relpath(cache.cache_dir, tmp_path)
    outside = [p for p in created if not (p == cache_dir or p.startswith(cache_dir + os.sep))]
    assert outside in ([], [os.path.dirname(cache_dir)]), outside  # only base/ and base/cache/...
    assert cache.invalidate(key) == 1
    assert make_cache().get(key, MISSING) is MISSING


def test_empty_key_is_a_clear_value_error(cache):
    with pytest.raises(ValueError, match="non-empty"):
        cache.set("", 1)
    with pytest.raises(ValueError, match="non-empty"):
        cache.get("")


@pytest.mark.parametrize("key", [None, 1, b"bytes", ("t",)])
def test_non_string_keys_are_a_type_error(cache, key):
    with pytest.raises(TypeError, match="cache key must be a str"):
        cache.set(key, 1)


def test_key_that_is_not_valid_unicode_is_a_clear_value_error(cache):
    with pytest.raises(ValueError, match="key"):
        cache.set("bad\ud800key", 1)


# -- files: fuzz ----------------------------------------------------------------------
def _valid_file(key: str, value, clock: ManualClock, tmp: str) -> bytes:
    writer = DiscoveryCache(base_dir=tmp, clock=clock)
    writer.set(key, value)
    with open(writer.file_for(key), "rb") as f:
        return f.read()


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


@pytest.mark.slow
def test_fuzz_arbitrary_bytes_as_a_cache_file_are_a_miss(tmp_path, clock):
    key = "fuzz:bytes"
    cache = DiscoveryCache(base_dir=tmp_path / "base", clock=clock, max_memory_entries=0)
    cache.set("neighbour", "kept")
    path = cache.file_for(key)
    valid = _valid_file(key, {"key": key, "n": [1, 2]}, clock, str(tmp_path / "src"))
    header = valid[: valid.index(b"\n") + 1]
    tried = {"examples": 0}

    @settings(max_examples=2000, deadline=None, suppress_health_check=list(HealthCheck))
    @given(
        data=st.one_of(
            st.binary(max_size=3000),
            st.binary(max_size=200).map(lambda b: header + b),  # a real header, a junk body
            st.binary(max_size=200).map(lambda b: valid[: len(valid) // 2] + b),  # torn
        )
    )
    def check(data: bytes) -> None:
        tried["examples"] += 1
        with open(path, "wb") as f:
            f.write(data)
        got = cache.get(key, MISSING)
        if data.startswith(header) and got is not MISSING:
            return  # a body that happens to be valid JSON of the right length, for this key
        assert got is MISSING, (data[:100], got)
        assert cache.get("neighbour") == "kept"
        list(cache.entries())
        cache.cleanup()
        assert cache.get("neighbour") == "kept"

    check()
    record("fuzz_bytes", examples=tried["examples"])


HEADER_FIELDS = ["v", "key", "owner", "created", "expires", "stale_until", "n"]


@pytest.mark.slow
@pytest.mark.parametrize("field", [*HEADER_FIELDS, "<missing>", "<whole header>", "<body types>"])
def test_fuzz_envelopes_with_wrong_types_in_each_field(tmp_path, clock, field):
    key = "fuzz:envelope"
    value = {"key": key, "models": ["a", "b"], "when": (1, 2)}
    cache = DiscoveryCache(base_dir=tmp_path / "base", clock=clock, max_memory_entries=0)
    path = cache.file_for(key)
    os.makedirs(cache.cache_dir)
    valid = _valid_file(key, value, clock, str(tmp_path / "src"))
    newline = valid.index(b"\n")
    good = json.loads(valid[:newline])
    body = valid[newline + 1 :]
    tried = {"examples": 0, "served": 0}

    @settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
    @given(replacement=json_values, drop=st.sampled_from(HEADER_FIELDS))
    def check(replacement, drop) -> None:
        tried["examples"] += 1
        header = dict(good)
        data = body
        if field == "<missing>":
            header.pop(drop, None)
        elif field == "<whole header>":
            header = replacement
        elif field == "<body types>":  # the typed paths travel in the body: [types, value]
            data = orjson.dumps([replacement, orjson.loads(body)[1]])
            header["n"] = len(data)
        else:
            header[field] = replacement
        with open(path, "wb") as f:
            f.write(orjson.dumps(header) + b"\n" + data)
        got = cache.get(key, MISSING)  # never raises
        list(cache.entries())
        if got is not MISSING:
            tried["served"] += 1
            # Only a header that still describes this key's record may be served, and
            # then the value is the one stored for this key.
            assert isinstance(header, dict) and header.get("key") == key, header
            if field != "<body types>":
                assert got == value, (header, got)
        cache.cleanup()  # never raises

    check()
    record("fuzz_envelope", field=field, **tried)


def test_another_keys_valid_file_in_this_keys_place_is_a_miss_and_cleaned(
    tmp_path, cache, make_cache
):
    cache.set("a", "value of a")
    cache.set("b", "value of b")
    os.replace(cache.file_for("a"), cache.file_for("b"))  # a's record under b's name
    fresh = make_cache()
    assert fresh.get("b", MISSING) is MISSING
    assert fresh.get("a", MISSING) is MISSING
    assert fresh.cleanup() == 1  # misplaced
    assert os.listdir(fresh.cache_dir) == []


# -- symlinks --------------------------------------------------------------------------
@pytest.fixture
def victim(tmp_path, clock):
    """A file outside the cache folder holding a valid record for the key "k"."""
    outside = tmp_path / "outside"
    outside.mkdir()
    data = _valid_file("k", "EVIL: read through a symlink", clock, str(tmp_path / "src"))
    target = outside / "victim.dbpc"
    target.write_bytes(data)
    return target, data


def _plant(cache, victim_path):
    os.makedirs(cache.cache_dir, exist_ok=True)
    link = cache.file_for("k")
    os.symlink(victim_path, link)
    return link


def test_planted_symlink_is_not_followed_for_reads(cache, make_cache, victim):
    target, data = victim
    _plant(cache, target)
    assert make_cache().get("k", MISSING) is MISSING  # not the victim's record


def test_planted_symlink_is_not_followed_for_writes(cache, make_cache, victim):
    target, data = victim
    link = _plant(cache, target)
    cache.set("k", "mine")
    assert target.read_bytes() == data  # untouched
    assert not os.path.islink(link)  # the link itself was replaced by our file
    assert make_cache().get("k") == "mine"


@pytest.mark.parametrize("how", ["invalidate-key", "invalidate-all", "cleanup", "cache_clear"])
def test_planted_symlink_is_not_followed_for_deletes(cache, victim, how):
    target, data = victim
    link = _plant(cache, target)
    if how == "invalidate-key":
        cache.invalidate("k")
    elif how == "invalidate-all":
        cache.invalidate()
    elif how == "cleanup":
        cache.cleanup()
    else:

        @discovery_cached(key="<x>", cache=cache)
        def f(x):
            return x

        f.cache_clear()
    assert target.read_bytes() == data
    if how != "cache_clear":  # the link itself is removed
        assert not os.path.lexists(link)


def test_planted_symlink_named_like_a_temp_file_is_removed_not_followed(cache, victim):
    target, data = victim
    os.makedirs(cache.cache_dir, exist_ok=True)
    link = os.path.join(cache.cache_dir, ".abc.dbpc.999999999.0011aabb.tmp")
    os.symlink(target, link)
    cache.cleanup()
    assert target.read_bytes() == data
    assert not os.path.lexists(link)


def test_planted_locks_symlink_is_not_followed(cache, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    os.makedirs(cache.cache_dir, exist_ok=True)
    os.symlink(elsewhere, os.path.join(cache.cache_dir, ".locks"))

    @discovery_cached(key="lock:<x>", cache=cache)
    def f(x):
        return x

    assert f(1) == 1
    assert os.listdir(elsewhere) == []


# -- values ----------------------------------------------------------------------------
HUGE = textwrap.dedent(
    """
    import json, resource, sys, time
    from dbp.llm.bedrock.discovery import DiscoveryCache
    base = sys.argv[1]
    value = {"models": [{"id": i, "arn": f"arn:{i}", "blob": "x" * 1000} for i in range(50_000)]}
    size = len(json.dumps(value))
    t0 = time.perf_counter()
    DiscoveryCache(base_dir=base).set("huge", value)
    t1 = time.perf_counter()
    got = DiscoveryCache(base_dir=base).get("huge")
    t2 = time.perf_counter()
    assert got == value
    print(json.dumps({"bytes": size, "set_s": t1 - t0, "fresh_get_s": t2 - t1,
                      "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
    """
)


def test_a_50_mb_value_round_trips_through_a_fresh_instance(tmp_path):
    done = python(HUGE, str(tmp_path / "base"), timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout)
    assert out["bytes"] >= 50_000_000
    assert out["set_s"] < 15 and out["fresh_get_s"] < 15, out
    assert out["max_rss_mb"] < 1024, out  # a few copies of the value, not a blow-up
    record(
        "huge_value",
        megabytes=round(out["bytes"] / 1e6, 1),
        set_seconds=round(out["set_s"], 2),
        fresh_get_seconds=round(out["fresh_get_s"], 2),
        max_rss_mb=round(out["max_rss_mb"]),
    )


def _nested(depth: int, kind: str):
    value: object = "leaf"
    for _ in range(depth):
        value = [value] if kind == "list" else {"d": value} if kind == "dict" else (value,)
    return value


@pytest.mark.parametrize("kind", ["list", "dict", "tuple"])
@pytest.mark.parametrize("depth", [202, 100_000])
def test_recursion_deep_values_fail_clearly(cache, kind, depth):
    with pytest.raises(ValueError, match=r"'deep'.*nested deeper than 200"):
        cache.set("deep", _nested(depth, kind))
    assert cache.get("deep", MISSING) is MISSING


@pytest.mark.parametrize("kind", ["list", "dict", "tuple"])
def test_deep_but_allowed_values_round_trip(cache, make_cache, kind):
    value = _nested(150, kind)
    cache.set("deep", value)
    assert make_cache().get("deep") == value


def test_self_referencing_value_fails_clearly(cache):
    loop: list = []
    loop.append(loop)
    with pytest.raises(ValueError, match="nested deeper"):
        cache.set("loop", loop)


def test_decorated_function_with_a_deep_result_returns_it_uncached(cache, warnings_log):
    calls = []

    @discovery_cached(key="deep:<x>", cache=cache)
    def f(x):
        calls.append(x)
        return _nested(500, "list")

    assert f(1) == _nested(500, "list")
    assert f(1) == _nested(500, "list")
    assert calls == [1, 1]  # not cached, but never an error
    # Warned once per function (issue 10), then at debug level.
    assert len(warnings_matching(warnings_log, "not cached")) == 1
    assert any(
        r.levelname == "DEBUG" and "not cached" in r.getMessage() for r in warnings_log.records
    )
