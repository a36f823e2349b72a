"""Method hits: the main way discovery is cached (``key="models:<self.region>"``).

Against ``cachetools.cachedmethod(TTLCache)``, the peer a user would pick for a
method, on the same 100-model payload, with a fixed cache and with a per-instance
cache provider (``cache=lambda self: self.cache``).
"""

from __future__ import annotations

import operator
import os
from typing import Any

from common import Config, Row, compare
from harness import Details, check, loop_overhead, measure
from payloads import list_foundation_models_response
from timing import make_loop

__all__ = ["method_hit"]


def method_hit(config: Config, folder: str) -> tuple[list[Row], Details]:
    import cachetools

    from dbp.llm.bedrock.discovery import DiscoveryCache, discovery_cached

    payload = list_foundation_models_response(100)
    fixed = DiscoveryCache(base_dir=os.path.join(folder, "ours"))
    calls: dict[str, int] = {"ours": 0, "ours_provider": 0, "cachetools": 0}

    class Discovery:
        def __init__(self) -> None:
            self.region = "us-east-1"
            self.cache = fixed
            self.ttl = cachetools.TTLCache(maxsize=1024, ttl=3600)

        @discovery_cached(key="models:<self.region>", cache=fixed)
        def ours(self) -> Any:
            calls["ours"] += 1
            return payload

        @discovery_cached(key="models_p:<self.region>", cache=lambda self: self.cache)
        def ours_provider(self) -> Any:
            calls["ours_provider"] += 1
            return payload

        @cachetools.cachedmethod(operator.attrgetter("ttl"), key=lambda self: self.region)
        def peer(self) -> Any:
            calls["cachetools"] += 1
            return payload

    d = Discovery()
    loops = {
        "ours": make_loop("d.ours()", {"d": d}),
        "ours_provider": make_loop("d.ours_provider()", {"d": d}),
        "cachetools": make_loop("d.peer()", {"d": d}),
        # Where the time goes: binding alone, and the hit without binding.
        "bind": make_loop("d.ours", {"d": d}),
        "prebound": make_loop("m()", {"m": d.ours}),
    }
    for method in (d.ours, d.ours_provider, d.peer):
        for _ in range(3):
            check(method() is payload, f"{method.__name__} value")
    med, numbers = measure(config, loops, loop_overhead(config))
    check(calls == {"ours": 1, "ours_provider": 1, "cachetools": 1}, f"methods ran: {calls}")
    peer = "cachetools.cachedmethod(TTLCache)"
    rows = [
        compare(
            "method_hit.vs_cachedmethod",
            'method hit, key="models:<self.region>": vs cachetools.cachedmethod',
            med["ours"],
            peer,
            med["cachetools"],
            limit=1.0,
            target="<= 1.0 (aim <= 0.6)",
        ),
        compare(
            "method_hit.provider_vs_cachedmethod",
            "method hit, cache=lambda self: self.cache: vs cachetools.cachedmethod",
            med["ours_provider"],
            peer,
            med["cachetools"],
            limit=1.1,
            target="<= 1.1",
        ),
        compare(
            "method_hit.bind_share",
            "where the time goes: binding (d.ours, a BoundHit per access) vs the whole hit",
            med["bind"],
            "the method hit",
            med["ours"],
        ),
        compare(
            "method_hit.prebound_vs_cachedmethod",
            "where the time goes: the hit through a method bound once (m = d.ours; m())",
            med["prebound"],
            peer,
            med["cachetools"],
        ),
    ]
    return rows, {"method_hit": numbers}
