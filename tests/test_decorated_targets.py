"""What can be decorated: partials, partialmethods, bound methods, methods reached through a class."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import os
import pickle
import subprocess
import sys
import textwrap

import pytest

from conftest import cache_files
from dbp.llm.bedrock.discovery import discovery_cached

WITHOUT_CACHING = "without caching"


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if WITHOUT_CACHING in r.getMessage()]


def list_models(region, limit=3):
    return [region, limit]


# -- functools.partial: a key prefix without a memory address --------------------------------
def test_a_partial_has_a_stable_key_prefix(cache):
    cached = discovery_cached(cache=cache)(functools.partial(list_models, "us-east-1"))
    key = cached.cache_key(limit=5)
    assert key == f"{__name__}.list_models('us-east-1'):limit=5"
    assert "0x" not in key
    assert cached(limit=5) == ["us-east-1", 5]
    other = discovery_cached(cache=cache)(functools.partial(list_models, "eu-west-1"))
    assert other(limit=5) == ["eu-west-1", 5]  # another binding, another key


def test_two_processes_share_a_partials_disk_entry(tmp_path):
    script = tmp_path / "partial_child.py"
    calls = tmp_path / "calls.txt"
    script.write_text(
        textwrap.dedent(
            f"""
            import functools, sys
            from dbp.llm.bedrock.discovery import DiscoveryCache, discovery_cached

            def list_models(region, limit=3):
                with open({str(calls)!r}, "a") as f:
                    f.write(region + "\\n")
                return [region, limit]

            cached = discovery_cached(cache=DiscoveryCache(base_dir=sys.argv[1]))(
                functools.partial(list_models, "us-east-1")
            )
            print(cached.cache_key(limit=5))
            print(cached(limit=5))
            """
        )
    )
    base = tmp_path / "shared"
    runs = [
        subprocess.run(
            [sys.executable, str(script), str(base)],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": "random"},
        ).stdout.splitlines()
        for _ in range(2)
    ]
    assert runs[0] == runs[1] == ["__main__.list_models('us-east-1'):limit=5", "['us-east-1', 5]"]
    assert calls.read_text().splitlines() == ["us-east-1"]  # the second process read the file
    assert len([n for n in os.listdir(base / "cache") if n.endswith(".dbpc")]) == 1


def test_a_partial_bound_to_an_object_without_stable_text_bypasses(cache, caplog):
    client = object()

    def models(client, region):
        return [id(client), region]

    cached = discovery_cached(cache=cache)(functools.partial(models, client))
    with caplog.at_level(logging.WARNING):
        assert cached("r") == [id(client), "r"]
        assert cached("r") == [id(client), "r"]
    assert cache_files(cache) == []
    (warning,) = _warnings(caplog)
    assert "explicit key=" in warning
    keyed = discovery_cached(key="models:<region>", cache=cache)(functools.partial(models, client))
    assert keyed("r") == [id(client), "r"] and keyed.cache_info().misses == 1


# -- functools.partialmethod: a method like any other -------------------------------------
class Catalog:
    def __init__(self, account: str) -> None:
        self.account = account
        self.calls: list[tuple[str, int]] = []

    def _get(self, region, limit=3):
        self.calls.append((region, limit))
        return [self.account, region, limit]

    async def _aget(self, region, limit=3):
        await asyncio.sleep(0)
        self.calls.append((region, limit))
        return [self.account, region, limit]


def test_a_partialmethod_is_cached_as_a_method(cache):
    class C(Catalog):
        us = discovery_cached(key="cat:<self.account>:<limit>", cache=cache)(
            functools.partialmethod(Catalog._get, "us-east-1")
        )

    a, b = C("111"), C("222")
    assert a.us() == ["111", "us-east-1", 3]
    assert a.us() == ["111", "us-east-1", 3]
    assert a.us(limit=5) == ["111", "us-east-1", 5]
    assert b.us() == ["222", "us-east-1", 3]
    assert a.calls == [("us-east-1", 3), ("us-east-1", 5)]
    assert a.us.cache_key(limit=5) == "cat:111:5"
    assert C.us.cache_info().memory_hits == 1


def test_an_async_partialmethod_is_cached_as_a_method(cache):
    class C(Catalog):
        us = discovery_cached(key="acat:<self.account>:<limit>", cache=cache)(
            functools.partialmethod(Catalog._aget, "us-east-1")
        )

    async def main():
        a = C("111")
        first = await a.us(limit=4)
        second = await a.us(limit=4)
        return first, second, a.calls

    first, second, calls = asyncio.run(main())
    assert first == second == ["111", "us-east-1", 4]
    assert calls == [("us-east-1", 4)]


def test_a_partialmethod_with_a_derived_key_uses_the_instances_fields(cache):
    @dataclasses.dataclass(frozen=True)
    class Account:
        account: str

        def _get(self, region, limit=3):
            return [self.account, region, limit]

        us = discovery_cached(cache=cache)(functools.partialmethod(_get, "us-east-1"))

    assert Account("111").us() == ["111", "us-east-1", 3]
    assert Account("222").us() == ["222", "us-east-1", 3]
    key = Account("111").us.cache_key()
    assert "('us-east-1')" in key and "account='111'" in key and "0x" not in key


def test_a_partialmethod_of_something_else_is_refused_saying_what_to_do(cache):
    with pytest.raises(TypeError, match=r"partialmethod\(discovery_cached\(\.\.\.\)\(function\)"):
        discovery_cached(cache=cache)(functools.partialmethod(classmethod(list_models), "r"))


# -- bound methods decorated directly -------------------------------------------------------
def test_bound_methods_of_two_instances_do_not_share_derived_keys(cache, caplog):
    a, b = Catalog("111"), Catalog("222")
    with caplog.at_level(logging.WARNING):
        get_a = discovery_cached(cache=cache)(a._get)
        get_b = discovery_cached(cache=cache)(b._get)
        assert get_a("r") == ["111", "r", 3]
        assert get_b("r") == ["222", "r", 3]


# -- a method reached through its class is one object ---------------------------------------
class Models:
    @discovery_cached(key="models:<region>")
    def listing(self, region):
        return [region]

    @discovery_cached(key="amodels:<region>")
    async def alisting(self, region):
        return [region]

    @discovery_cached(key="smodels:<region>")
    @staticmethod
    def static_listing(region):
        return [region]


def test_a_method_reached_through_its_class_is_the_same_object():
    assert Models.listing is Models.listing
    assert Models.alisting is Models.alisting
    assert Models.static_listing is Models.static_listing
    assert pickle.loads(pickle.dumps(Models.listing)) is Models.listing
    assert pickle.loads(pickle.dumps(Models.alisting)) is Models.alisting
    assert Models.listing(Models(), "r") == ["r"]
    assert Models().listing("r") == ["r"]
    assert Models.listing.cache_info().hits == 1


def test_a_partial_without_a_stable_name_has_no_key_to_show(cache):
    cached = discovery_cached(cache=cache)(functools.partial(list_models, object()))
    with pytest.raises(TypeError, match="explicit key="):
        cached.cache_key(limit=1)
