"""A key holds only values whose text is their value; anything else bypasses, named once.

Real boto3 Sessions (no network: only their credentials are read), real functions
whose memory address is reused, real processes for the cross-process keys.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import enum
import logging
import os
import pathlib
import subprocess
import sys
import textwrap
import uuid
import zoneinfo
from typing import NamedTuple

import pytest

from conftest import cache_files
from dbp.llm.bedrock.discovery import DiscoveryCache, discovery_cached

WITHOUT_CACHING = "without caching"


def _warnings(caplog: pytest.LogCaptureFixture, text: str = WITHOUT_CACHING) -> list[str]:
    return [r.getMessage() for r in caplog.records if text in r.getMessage()]


def _session(access_key: str):
    boto3 = pytest.importorskip("boto3")
    return boto3.Session(
        aws_access_key_id=access_key, aws_secret_access_key="secret", region_name="us-east-1"
    )


# -- boto3 sessions: another account's result is never served --------------------------------
def test_sessions_of_two_accounts_never_share_a_derived_key(cache, caplog):
    calls: list[str] = []

    @discovery_cached(cache=cache)
    def whoami(session, region):
        calls.append(region)
        return session.get_credentials().access_key

    a, b = _session("AKIA_A"), _session("AKIA_B")
    assert repr(a) == repr(b)  # the text the old keys were made of
    with caplog.at_level(logging.WARNING):
        assert whoami(a, "us-east-1") == "AKIA_A"
        assert whoami(b, "us-east-1") == "AKIA_B"
        assert whoami(a, "us-east-1") == "AKIA_A"
    assert len(calls) == 3  # bypassed: nothing cached, nothing shared
    assert cache_files(cache) == []
    (warning,) = _warnings(caplog)  # once per function, naming the parameter and the fix
    assert "'session'" in warning and "boto3.session.Session" in warning
    assert "key='whoami:<session.region_name>:<region>'" in warning
    assert "key callable" in warning


def test_a_template_naming_the_session_outright_gets_the_same_rule(cache, caplog):
    @discovery_cached(key="whoami:<session>", cache=cache)
    def whoami(session):
        return session.get_credentials().access_key

    with caplog.at_level(logging.WARNING):
        assert whoami(_session("AKIA_A")) == "AKIA_A"
        assert whoami(_session("AKIA_B")) == "AKIA_B"
    (warning,) = _warnings(caplog)
    assert "<session>" in warning and "leave session out of the template" in warning


def test_a_dotted_placeholder_of_a_session_still_caches(cache, caplog):
    calls: list[str] = []

    @discovery_cached(key="models:<session.region_name>", cache=cache)
    def models(session):
        calls.append(session.region_name)
        return ["m1"]

    with caplog.at_level(logging.WARNING):
        assert models(_session("AKIA_A")) == ["m1"]
        assert models(_session("AKIA_A")) == ["m1"]
    assert calls == ["us-east-1"]
    assert models.cache_key(_session("X")) == "models:us-east-1"
    assert _warnings(caplog) == []


# -- functions as arguments: an address that is reused is not an identity -----------------------
def test_functions_passed_as_arguments_bypass_the_cache(cache, caplog):
    @discovery_cached(cache=cache)
    def apply(fn, x):
        return fn(x)

    addresses: list[int] = []

    def make(n):
        fn = lambda x: x * n  # noqa: E731
        addresses.append(id(fn))
        return fn

    with caplog.at_level(logging.WARNING):
        first = apply(make(1), 5)
        second = apply(make(10), 5)  # a new function, usually at the first one's address
    assert addresses[0] == addresses[1], "the allocator did not reuse the address"
    assert (first, second) == (5, 50)  # never make(1)'s answer
    assert cache_files(cache) == []
    (warning,) = _warnings(caplog)
    assert "'fn'" in warning and "builtins.function" in warning


def _two_runs(script, folder) -> list[str]:
    """What ``script`` prints in two processes with different hash seeds."""
    env = {**os.environ, "PYTHONHASHSEED": "random"}
    return [
        subprocess.run(
            [sys.executable, str(script), str(folder)],
            capture_output=True,
            text=True,
            check=True,
            env=env,
        ).stdout
        for _ in range(2)
    ]


# -- lambdas and local functions of one name are different functions ---------------------------
def test_two_decorated_lambdas_never_share_a_derived_key(cache):
    plus_one = discovery_cached(cache=cache)(lambda x: x + 1)
    times_ten = discovery_cached(cache=cache)(lambda x: x * 10)
    assert (plus_one(5), times_ten(5)) == (6, 50)
    assert plus_one.cache_key(5) != times_ten.cache_key(5)
    # Even from disk, in a fresh cache on the same folder:
    fresh = DiscoveryCache(base_dir=cache.base_dir)
    again_plus, again_times = (
        discovery_cached(cache=fresh)(lambda x: x + 1),
        discovery_cached(cache=fresh)(lambda x: x * 10),
    )
    assert (again_plus(5), again_times(5)) == (6, 50)


def test_local_functions_of_one_name_never_share_a_derived_key(cache):
    def make(double: bool):
        if double:

            def scale(x):
                return x * 2

        else:

            def scale(x):
                return x * 3

        return discovery_cached(cache=cache)(scale)

    assert (make(True)(5), make(False)(5)) == (10, 15)


def test_a_lambdas_derived_key_is_the_same_in_another_process(tmp_path):
    script = tmp_path / "lambda_key.py"
    script.write_text(
        "import sys\n"
        "from dbp.llm.bedrock.discovery import DiscoveryCache, discovery_cached\n"
        "f = discovery_cached(cache=DiscoveryCache(base_dir=sys.argv[1]))(\n"
        "    lambda x: x in {'a', 'b', 'c'} or x + 1.5)\n"
        "print(f.cache_key(2))\n"
    )
    runs = _two_runs(script, tmp_path / "c")
    assert runs[0] == runs[1] and "<lambda>" in runs[0] and "0x" not in runs[0]


# -- what is accepted: values whose text is their value ----------------------------------------
class Color(enum.Enum):
    RED = 1
    BLUE = 2


@dataclasses.dataclass(frozen=True)
class Query:
    region: str
    limit: int = 10


@dataclasses.dataclass(eq=False)
class Handle:  # compares by identity: its fields are not its value
    region: str


class Point(NamedTuple):
    x: int
    y: int


class Labelled:
    """An object whose custom __repr__ is not its identity."""

    def __init__(self, secret: str) -> None:
        self.secret = secret

    def __repr__(self) -> str:
        return "Labelled()"


AMS = zoneinfo.ZoneInfo("Europe/Amsterdam")
VALUE_ARGUMENTS = [
    (None, 0),
    (True, False),
    (3, 4),
    (2.5, 2.25),
    ("a", "b"),
    (b"a", b"b"),
    (Color.RED, Color.BLUE),
    (dt.datetime(2024, 1, 1, tzinfo=AMS), dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)),
    (dt.date(2024, 1, 1), dt.date(2024, 1, 2)),
    (dt.time(1, 2), dt.time(1, 3)),
    (dt.timedelta(seconds=1), dt.timedelta(seconds=2)),
    (decimal.Decimal("1.1"), decimal.Decimal("1.2")),
    (uuid.UUID(int=1), uuid.UUID(int=2)),
    (pathlib.PurePosixPath("/a"), pathlib.PurePosixPath("/b")),
    ((1, "x"), (1, "y")),
    ([1, [2]], [1, [3]]),
    ({"a": [1]}, {"a": [2]}),
    ({1, 2}, {1, 3}),
    (frozenset({"a"}), frozenset({"b"})),
    ({}, set()),
    (Query("us-east-1"), Query("us-east-1", 5)),
    (Point(1, 2), Point(2, 1)),
]


def _counting(cache: DiscoveryCache):
    """A cached function returning how many times it really ran."""
    calls = []

    @discovery_cached(cache=cache)
    def f(arg):
        calls.append(arg)
        return len(calls)

    return f


@pytest.mark.parametrize(("value", "other"), VALUE_ARGUMENTS)
def test_values_whose_text_is_their_value_are_cached_and_told_apart(cache, caplog, value, other):
    f = _counting(cache)
    with caplog.at_level(logging.WARNING):
        assert f(value) == 1
        assert f(value) == 1  # cached
        assert f(other) == 2  # another value, another key
    assert f.cache_key(value) != f.cache_key(other)
    assert _warnings(caplog) == []


@pytest.mark.parametrize(
    "value",
    [Labelled("a"), Handle("us-east-1"), [Labelled("a")], {"k": object()}, print, object()],
    ids=["custom-repr", "eq-false-dataclass", "nested", "dict-value", "builtin-function", "object"],
)
def test_other_arguments_bypass_with_one_warning(cache, caplog, value):
    f = _counting(cache)
    with caplog.at_level(logging.WARNING):
        assert f(value) == 1
        assert f(value) == 2  # not cached
    assert len(_warnings(caplog)) == 1
    with pytest.raises(TypeError, match="no text that is its value"):
        f.cache_key(value)


def test_objects_with_a_custom_repr_never_share_a_key(cache):
    @discovery_cached(cache=cache)
    def secret_of(obj):
        return obj.secret

    assert secret_of(Labelled("a")) == "a"
    assert secret_of(Labelled("b")) == "b"


def test_derived_keys_of_values_are_the_same_in_another_process(cache, tmp_path):
    script = tmp_path / "keys_in_a_child.py"
    script.write_text(
        textwrap.dedent(
            """
            import sys, decimal, uuid, pathlib, datetime as dt
            from dbp.llm.bedrock.discovery import DiscoveryCache, discovery_cached

            @discovery_cached(cache=DiscoveryCache(base_dir=sys.argv[1]))
            def f(arg):
                return 1

            for value in ({"b", "a", "c"}, frozenset({3, 1, 2}), {"z": 1, "a": {2, 1}},
                          decimal.Decimal("1.10"), uuid.UUID(int=7), pathlib.PurePosixPath("/x"),
                          dt.timedelta(days=1)):
                print(f.cache_key(value).split(":", 1)[1])
            """
        )
    )
    runs = _two_runs(script, tmp_path / "c")
    assert runs[0] == runs[1] and len(runs[0].splitlines()) == 7
    assert "0x" not in runs[0]


# -- malformed templates are refused at decoration time ------------------------------------------
@pytest.mark.parametrize(
    ("template", "caret_at", "problem"),
    [
        ("m:<region", 2, "'<' is never closed"),
        ("m:region>", 8, "'>' closes no '<'"),
        ("m:<>", 2, "'<>' names no parameter"),
        ("m:<a<region>", 2, "'<' is not closed before the next '<'"),
        ("m:<region>>", 10, "'>' closes no '<'"),
    ],
)
def test_a_malformed_template_is_refused_showing_where(cache, template, caret_at, problem):
    with pytest.raises(ValueError, match="is malformed") as raised:

        @discovery_cached(key=template, cache=cache)
        def f(region, a=None):
            return region

    message = str(raised.value)
    assert repr(template) in message and problem in message
    lines = message.splitlines()
    shown = next(i for i, line in enumerate(lines) if line.strip() == template)
    assert lines[shown + 1].index("^") - lines[shown].index(template) == caret_at


def test_a_well_formed_template_still_tells_regions_apart(cache):
    @discovery_cached(key="m:<region>", cache=cache)
    def f(region):
        return region

    assert (f("us-east-1"), f("eu-west-1")) == ("us-east-1", "eu-west-1")
