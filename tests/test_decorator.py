"""@discovery_cached: keys, TTLs, cache selection, binding kinds and wrapper methods."""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import inspect
import logging
import os
import subprocess
import sys
import textwrap

import pytest

from conftest import cache_files
from dbp.llm.bedrock.discovery import (
    CacheInfo,
    DiscoveryCache,
    default_cache,
    discovery_cached,
)


class Upstream:
    """A stand-in discovery API that counts its calls."""

    def __init__(self):
        self.calls: list[tuple] = []

    def __call__(self, *args):
        self.calls.append(args)
        return {"args": list(args), "n": len(self.calls)}


# -- keys -------------------------------------------------------------------


def test_positional_keyword_and_default_arguments_give_one_key(cache):
    upstream = Upstream()

    @discovery_cached(key="bedrock_models:<region>", cache=cache)
    def list_models(region="us-east-1", provider=None):
        return upstream(region)

    a = list_models()
    assert list_models("us-east-1") == a
    assert list_models(region="us-east-1") == a
    assert list_models("us-east-1", None) == a
    assert len(upstream.calls) == 1
    assert list_models.cache_key() == list_models.cache_key(region="us-east-1")
    assert list_models.cache_key("us-east-1") == "bedrock_models:us-east-1"


def test_attribute_placeholder_in_method(cache):
    class Client:
        def __init__(self, region):
            self.region = region
            self.upstream = Upstream()

        @discovery_cached(key="bedrock_models:<self.region>", cache=cache)
        def models(self):
            return self.upstream(self.region)

    east, west = Client("us-east-1"), Client("us-west-2")
    assert east.models()["args"] == ["us-east-1"]
    assert west.models()["args"] == ["us-west-2"]
    east.models()
    assert len(east.upstream.calls) == 1
    assert cache.get_model_cache("us-west-2")["args"] == ["us-west-2"]
    assert east.models.cache_key() == "bedrock_models:us-east-1"


def test_unknown_placeholder_is_value_error_at_decoration(cache):
    with pytest.raises(ValueError, match=r"<regoin>.*list_models"):

        @discovery_cached(key="bedrock_models:<regoin>", cache=cache)
        def list_models(region):
            return region


@pytest.mark.parametrize("template", ["x:<>", "x:<region-name>", "x:<self.>"])
def test_malformed_placeholder_is_value_error(cache, template):
    with pytest.raises(ValueError, match="placeholder"):

        @discovery_cached(key=template, cache=cache)
        def f(region, self=None):
            return region


def test_bad_key_argument_types(cache):
    with pytest.raises(TypeError, match="key must be"):
        discovery_cached(key=42, cache=cache)(lambda: 1)
    with pytest.raises(ValueError, match="empty"):
        discovery_cached(key="", cache=cache)(lambda: 1)
    with pytest.raises(TypeError, match="cache must be"):
        discovery_cached(cache="/tmp")(lambda: 1)


def test_bare_decorator_use_gets_a_clear_error(cache):
    with pytest.raises(TypeError, match="without parentheses"):

        @discovery_cached
        def f(region):
            return region

        f("us-east-1")


def test_callable_key(cache):
    upstream = Upstream()

    @discovery_cached(key=lambda region, provider=None: f"models:{region}:{provider}", cache=cache)
    def list_models(region, provider=None):
        return upstream(region, provider)

    list_models("eu-west-1", provider="Anthropic")
    list_models("eu-west-1", "Anthropic")
    assert len(upstream.calls) == 1
    assert cache.get("models:eu-west-1:Anthropic")["args"] == ["eu-west-1", "Anthropic"]


def test_key_callable_returning_non_string_is_type_error(cache):
    @discovery_cached(key=lambda region: None, cache=cache)
    def f(region):
        return region

    with pytest.raises(TypeError, match="non-empty str"):
        f("x")


def test_derived_key_is_stable_across_processes(cache_dir, tmp_path):
    module = tmp_path / "derived_mod.py"
    module.write_text(
        textwrap.dedent(
            """
            from dbp.llm.bedrock.discovery import DiscoveryCache, discovery_cached
            import sys
            cache = DiscoveryCache(base_dir=sys.argv[1])

            @discovery_cached(cache=cache)
            def lookup(region, *, kinds=("TEXT",), options=None):
                return {"region": region, "pid": __import__("os").getpid()}

            if __name__ == "__main__":
                print(lookup.cache_key("us-east-1", options={"b": 1, "a": 2}))
                print(lookup("us-east-1", options={"b": 1, "a": 2})["pid"])
            """
        )
    )
    run = functools.partial(
        subprocess.run,
        [sys.executable, str(module), str(cache_dir)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONHASHSEED": "random"},
    )
    first, second = run().stdout.split(), run().stdout.split()
    assert first[0] == second[0]
    assert first[0].startswith("__main__.lookup:")
    assert first[1] == second[1]  # the second process got the first one's value


def test_derived_key_distinguishes_arguments(cache):
    @discovery_cached(cache=cache)
    def f(a, b=2, *rest, flag=False, **extra):
        return [a, b, list(rest), flag, extra]

    keys = {
        f.cache_key(1),
        f.cache_key(1, 3),
        f.cache_key(1, 2, 9),
        f.cache_key(1, flag=True),
        f.cache_key(1, z=1),
        f.cache_key("1"),
    }
    assert len(keys) == 6
    assert f.cache_key(1) == f.cache_key(a=1, b=2)
    assert f(1, 2, 9, flag=True, z=1) == [1, 2, [9], True, {"z": 1}]


def test_unstable_argument_bypasses_cache_with_one_warning(cache, caplog):
    upstream = Upstream()

    @discovery_cached(cache=cache)
    def f(session):
        return upstream("x")

    with caplog.at_level(logging.WARNING):
        f(object())
        f(object())
    assert len(upstream.calls) == 2
    assert len([r for r in caplog.records if "without caching" in r.getMessage()]) == 1


def test_wrong_call_raises_like_the_function(cache):
    @discovery_cached(key="m:<region>", cache=cache)
    def list_models(region):
        return region

    with pytest.raises(TypeError, match="list_models"):
        list_models()
    with pytest.raises(TypeError, match="unexpected keyword"):
        list_models("x", regoin="y")


# -- TTLs and cache selection ----------------------------------------------------


def test_per_function_ttls_override_cache_defaults(cache, make_cache, clock):
    upstream = Upstream()

    @discovery_cached(key="k:<x>", cache=cache, memory_ttl=10, disk_ttl=dt.timedelta(seconds=30))
    def f(x):
        return upstream(x)

    f(1)
    clock.advance(11)
    assert f(1)["n"] == 1  # memory expired, disk served
    assert f.cache_info().disk_hits == 1
    clock.advance(20)
    assert f(1)["n"] == 2


def test_zero_ttls_skip_tiers(cache):
    upstream = Upstream()

    @discovery_cached(key="k:<x>", cache=cache, disk_ttl=0)
    def memory_only(x):
        return upstream(x)

    memory_only(1)
    memory_only(1)
    assert len(upstream.calls) == 1
    assert cache_files(cache) == []

    @discovery_cached(key="nocache:<x>", cache=cache, memory_ttl=0, disk_ttl=0)
    def uncached(x):
        return upstream(x)

    uncached(1)
    uncached(1)
    assert len(upstream.calls) == 3


def test_negative_ttl_on_decorator_names_parameter(cache):
    with pytest.raises(ValueError, match="memory_ttl"):
        discovery_cached(key="k", cache=cache, memory_ttl=-1)(lambda: 1)


def test_default_cache_is_lazy_and_process_wide(tmp_path):
    calls = Upstream()

    @discovery_cached(key="default:<x>")
    def f(x):
        return calls(x)

    assert not (tmp_path / "default-cache").exists()
    f(1)
    f(1)
    assert len(calls.calls) == 1
    assert default_cache().get("default:1") == {"args": [1], "n": 1}
    assert default_cache() is default_cache()
    assert default_cache().cache_dir == str(tmp_path / "default-cache" / "cache")


def test_cache_provider_per_instance(tmp_path, clock):
    class Discovery:
        def __init__(self, name):
            self.cache = DiscoveryCache(base_dir=tmp_path / name, clock=clock)
            self.upstream = Upstream()

        @discovery_cached(key="models:<region>", cache=lambda self: self.cache)
        def models(self, region):
            return self.upstream(region)

    a, b = Discovery("a"), Discovery("b")
    a.models("r")
    b.models("r")
    assert a.cache.get("models:r") == {"args": ["r"], "n": 1}
    assert b.cache.get("models:r") == {"args": ["r"], "n": 1}
    assert len(a.upstream.calls) == len(b.upstream.calls) == 1
    with pytest.raises(TypeError, match="through an instance"):
        Discovery.models.cache_clear()  # which instance's cache? say so clearly
    with pytest.raises(TypeError, match="TieredCache"):

        class Broken:
            @discovery_cached(key="x", cache=lambda self: "not a cache")
            def f(self):
                return 1

        Broken().f()


def test_a_functions_policy_follows_the_caches_settings(cache):
    """The decorated function keeps its policy between calls, but not past a settings change."""
    upstream = Upstream()

    @discovery_cached(key="models:<region>", cache=cache, memory_ttl=0)  # every call reads disk
    def list_models(region):
        return upstream(region)

    list_models("us-east-1")
    list_models("us-east-1")
    assert len(upstream.calls) == 1 and list_models.cache_info().disk_hits == 1
    cache.disk_ttl_seconds = 0  # no disk tier from now on: neither read nor written
    list_models("eu-west-1")
    list_models("us-east-1")
    assert len(upstream.calls) == 3
    assert cache_files(cache) == [os.path.basename(cache.file_for("models:us-east-1"))]
    cache.disk_ttl_seconds = 3600
    list_models("us-east-1")
    assert len(upstream.calls) == 3  # the file is read again


# -- binding kinds ------------------------------------------------------------------


def test_methods_classmethods_staticmethods(cache):
    upstream = Upstream()

    class Service:
        region = "us-east-1"

        @discovery_cached(key="inst:<self.region>:<n>", cache=cache)
        def method(self, n):
            return upstream("method", n)

        @discovery_cached(key="cls:<cls.region>:<n>", cache=cache)
        @classmethod
        def klass(cls, n):
            return upstream("klass", cls.__name__, n)

        @classmethod
        @discovery_cached(key="cls2:<cls.region>:<n>", cache=cache)
        def klass_inner(cls, n):
            return upstream("klass_inner", cls.__name__, n)

        @discovery_cached(key="static:<n>", cache=cache)
        @staticmethod
        def static(n):
            return upstream("static", n)

    s = Service()
    for _ in range(2):
        assert s.method(1)["args"] == ["method", 1]
        assert Service.method(s, 1)["args"] == ["method", 1]
        assert Service.klass(2)["args"] == ["klass", "Service", 2]
        assert s.klass(2)["args"] == ["klass", "Service", 2]
        assert Service.klass_inner(3)["args"] == ["klass_inner", "Service", 3]
        assert Service.static(4)["args"] == ["static", 4]
        assert s.static(4)["args"] == ["static", 4]
    assert len(upstream.calls) == 4
    assert s.method.cache_key(1) == "inst:us-east-1:1"
    assert Service.klass.cache_key(2) == "cls:us-east-1:2"
    assert Service.static.cache_key(4) == "static:4"
    assert s.static.cache_key(4) == "static:4"
    assert s.klass.cache_key(2) == "cls:us-east-1:2"
    assert Service.method.cache_key(s, 1) == "inst:us-east-1:1"
    assert s.method.cache_info().hits == 3


def test_async_functions_are_cached(cache):
    upstream = Upstream()

    @discovery_cached(key="async:<region>", cache=cache)
    async def list_models(region):
        await asyncio.sleep(0)
        return upstream(region)

    assert inspect.iscoroutinefunction(list_models)

    async def main():
        first = await list_models("us-east-1")
        second = await list_models(region="us-east-1")
        return first, second

    first, second = asyncio.run(main())
    assert first == second
    assert len(upstream.calls) == 1
    assert cache.get("async:us-east-1") == first


def test_async_method(cache):
    class Api:
        region = "eu-west-1"

        @discovery_cached(key="am:<self.region>", cache=cache)
        async def models(self):
            return ["m"]

    api = Api()
    assert asyncio.run(api.models()) == ["m"]
    assert asyncio.run(api.models()) == ["m"]
    assert api.models.cache_info() == CacheInfo(1, 1, 1, 0, 0, 0)


def test_a_wrong_async_call_raises_when_made_like_the_function(cache, caplog):
    """As with a plain ``async def``: a TypeError at the call, before any await, and no
    "called without caching" warning (the arguments bind in the generated hit path)."""

    @discovery_cached(key="aw:<region>", cache=cache)
    async def list_models(region):
        return region

    class Api:
        region = "eu-west-1"

        @discovery_cached(key="awm:<self.region>", cache=cache)
        async def models(self):
            return ["m"]

    with caplog.at_level(logging.WARNING):
        with pytest.raises(TypeError, match="list_models"):
            list_models()
        with pytest.raises(TypeError, match="unexpected keyword"):
            list_models("x", regoin="y")
        with pytest.raises(TypeError, match="models"):
            Api().models("extra")
    assert not [r for r in caplog.records if "without caching" in r.getMessage()]
    assert asyncio.run(list_models("x")) == "x"
    assert asyncio.run(Api().models()) == ["m"]


def test_wrapper_keeps_metadata(cache):
    def list_models(region: str, provider: str | None = None) -> list[dict]:
        """List models."""
        return []

    wrapped = discovery_cached(key="m:<region>", cache=cache)(list_models)
    assert wrapped.__name__ == "list_models"
    assert wrapped.__doc__ == "List models."
    assert wrapped.__wrapped__ is list_models
    assert inspect.signature(wrapped) == inspect.signature(list_models)
    assert wrapped.__module__ == list_models.__module__


# -- wrapper methods ----------------------------------------------------------------


def test_cache_info_counts_tiers(cache, make_cache):
    @discovery_cached(key="info:<x>", cache=cache)
    def f(x):
        return x

    assert f.cache_info() == CacheInfo(0, 0, 0, 0, 0, 0)
    f(1)
    f(1)
    cache.memory.clear()
    f(1)
    info = f.cache_info()
    assert (info.hits, info.misses, info.memory_hits, info.disk_hits) == (2, 1, 1, 1)
    assert info.tier_hits == {"memory": 1, "disk": 1}  # by the stores' names
    assert info.redis_hits == 0 and info.flight_hits == info.shared_hits == 0


def test_cache_clear_removes_only_this_functions_entries(cache):
    @discovery_cached(key="models:<region>", cache=cache)
    def models(region):
        return "m-" + region

    @discovery_cached(key="profiles:<region>", cache=cache)
    def profiles(region):
        return "p-" + region

    for r in ("a", "b"):
        models(r)
        profiles(r)
    cache.set("manual", 1)
    assert len(cache_files(cache)) == 5
    assert models.cache_clear() == 2
    assert models.cache_info() == CacheInfo(0, 0, 0, 0, 0, 0)
    assert cache.get("models:a") is None
    assert cache.get("profiles:a") == "p-a"
    assert cache.get("manual") == 1
    assert len(cache_files(cache)) == 3


def test_cache_clear_removes_entries_written_by_other_processes(tmp_path, monkeypatch):
    (tmp_path / "clear_mod.py").write_text(
        textwrap.dedent(
            """
            from dbp.llm.bedrock.discovery import discovery_cached

            @discovery_cached(key="region:<r>")
            def fetch(r):
                return r.upper()

            @discovery_cached(key="other:<r>")
            def other(r):
                return r
            """
        )
    )
    # Another process (same DBP_CACHE_DIR, inherited) fills the default cache.
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import clear_mod\nfor r in 'pq': clear_mod.fetch(r); clear_mod.other(r)",
        ],
        check=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    import clear_mod

    try:
        cache = default_cache()
        assert cache.get("region:p") == "P"
        assert len(cache_files(cache)) == 4
        assert clear_mod.fetch.cache_clear() == 2  # both written by the other process
        assert cache.get("region:p") is None
        assert cache.get("region:q") is None
        assert cache.get("other:p") == "p"
        assert len(cache_files(cache)) == 2
    finally:
        sys.modules.pop("clear_mod", None)


def test_invalidate_one_entry(cache):
    upstream = Upstream()

    @discovery_cached(key="inv:<x>", cache=cache)
    def f(x):
        return upstream(x)

    f(1)
    f(2)
    assert f.invalidate(1) == 1
    f(1)
    f(2)
    assert upstream.calls == [(1,), (2,), (1,)]


def test_none_result_is_cached(cache):
    upstream = Upstream()

    @discovery_cached(key="none:<x>", cache=cache)
    def f(x):
        upstream(x)

    assert f(1) is None
    assert f(1) is None
    assert len(upstream.calls) == 1


def test_disk_write_failure_still_returns_result(tmp_path, clock, caplog):
    blocker = tmp_path / "file"
    blocker.write_text("in the way")
    broken = DiscoveryCache(base_dir=blocker, clock=clock)

    @discovery_cached(key="k:<x>", cache=broken)
    def f(x):
        return {"x": x}

    with caplog.at_level(logging.WARNING):
        assert f(1) == {"x": 1}
        assert f(1) == {"x": 1}
    assert f.cache_info().memory_hits == 1


def test_unstorable_result_is_returned_uncached_with_warning(cache, caplog):
    upstream = Upstream()

    @discovery_cached(key="odd:<x>", cache=cache)
    def f(x):
        upstream(x)
        return {x, x + 1}

    with caplog.at_level(logging.WARNING):
        assert f(1) == {1, 2}
    assert "not cached" in caplog.text
    assert f(1) == {1, 2}
    assert len(upstream.calls) == 2


def test_a_bound_cached_method_behaves_like_a_bound_method(cache):
    class Service:
        region = "eu-west-1"

        @discovery_cached(key="bound:<self.region>:<n>", cache=cache)
        def models(self, n, kind="TEXT"):
            """List models."""
            return [self.region, n, kind]

    s, t = Service(), Service()
    bound = s.models
    assert bound(1) == ["eu-west-1", 1, "TEXT"]
    assert bound.__self__ is s and bound.__name__ == "models"
    assert bound.__doc__ == "List models." and bound.__qualname__.endswith("Service.models")
    assert bound.__wrapped__(2) == ["eu-west-1", 2, "TEXT"]
    assert list(inspect.signature(bound).parameters) == ["n", "kind"]
    assert s.models == s.models and hash(s.models) == hash(s.models)
    assert s.models != t.models
    assert "Service.models" in repr(bound)
    assert bound.refresh(1) == ["eu-west-1", 1, "TEXT"]
    assert s.models.cache_info().misses == 2  # the first call and the refresh
    with pytest.raises(TypeError):
        bound(1, 2, 3)  # a bad call fails as the method's own would


def test_a_method_taking_only_star_args_binds_the_instance_as_args(cache):
    class Service:
        region = "us-east-1"

        def __init__(self):
            self.cache = cache

        @discovery_cached(
            key=lambda *args: f"star:{args[0].region}:{args[1]}", cache=lambda s: s.cache
        )
        def models(*args):
            return [args[0].region, args[1]]

    s = Service()
    assert s.models(1) == ["us-east-1", 1]
    assert s.models(1) == ["us-east-1", 1]
    assert s.models.cache_info().hits == 1
    assert s.models.cache_key(1) == "star:us-east-1:1"
