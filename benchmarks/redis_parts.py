"""Where a Redis hit's time goes: the round trip, the reply's parse, the body's decode.

Timed in the same rounds as the Redis hit itself (``fleet.py``): a ``PING`` (the round
trip alone), ``GET`` of the stored bytes (round trip + the RESP reply's parse), ``GET`` +
our codec's decode of the body (JSON + datetimes), so the rest is our header check and
read-through path. With ``hiredis`` installed (redis-py then parses replies with it),
the hit, dogpile's and the bare ``GET`` are timed with redis-py's pure-Python parser too.
"""

from __future__ import annotations

import importlib.util
from typing import Any

from common import Row, compare
from harness import KEY, check_payload
from timing import Loop, make_loop

__all__ = ["HAS_HIREDIS", "breakdown_loops", "breakdown_rows"]

HAS_HIREDIS = importlib.util.find_spec("hiredis") is not None


def _python_parser(client: Any) -> Any:
    """``client`` switched to redis-py's pure-Python RESP2 parser (new connections)."""
    from redis._parsers import _RESP2Parser

    pool = client.connection_pool
    pool.connection_kwargs["parser_class"] = _RESP2Parser
    pool.disconnect()
    return client


def breakdown_loops(
    url: str, name: str, stored: bytes, make_reader: Any, payload: Any
) -> tuple[dict[str, Loop], list[Any]]:
    """The loops, and what to close after timing."""
    import redis
    from dogpile.cache import make_region

    from dbp.cache import codec

    raw = redis.Redis.from_url(url)
    offset = stored.index(b"\n") + 1
    loops = {
        "ping": make_loop("p()", {"p": raw.ping}),
        "redis_get_decode": make_loop(
            "decode(memoryview(g(k))[o:])",
            {"g": raw.get, "k": name, "decode": codec.decode, "o": offset},
        ),
    }
    closing: list[Any] = [raw]
    if HAS_HIREDIS:
        python_raw = _python_parser(redis.Redis.from_url(url))
        reader = make_reader()
        check_payload(reader.get(KEY), payload, "ours redis hit")  # connects the client
        _python_parser(reader.redis._sync.client)
        check_payload(reader.get(KEY), payload, "ours redis hit, Python parser")
        from redis._parsers import _RESP2Parser

        region = make_region().configure(
            "dogpile.cache.redis",
            expiration_time=3600,
            arguments={"url": url, "connection_kwargs": {"parser_class": _RESP2Parser}},
        )
        check_payload(region.get(KEY), payload, "dogpile.cache.redis, Python parser")
        loops["redis_get_python"] = make_loop("g(k)", {"g": python_raw.get, "k": name})
        loops["ours_redis_python"] = make_loop("g(k)", {"g": reader.get, "k": KEY})
        loops["dogpile_redis_python"] = make_loop("g(k)", {"g": region.get, "k": KEY})
        closing += [python_raw, reader]
    return loops, closing


def breakdown_rows(med: dict[str, Any]) -> list[Row]:
    rows = [
        compare(
            "fleet.redis_hit.vs_ping",
            "where the time goes: vs a PING (the round trip alone)",
            med["ours_redis"],
            "redis-py PING",
            med["ping"],
        ),
        compare(
            "fleet.redis_hit.vs_redis_get_decode",
            "where the time goes: vs redis-py GET + our codec's decode of the body "
            "(JSON and datetimes)",
            med["ours_redis"],
            "GET + codec.decode",
            med["redis_get_decode"],
        ),
    ]
    if "ours_redis_python" in med:
        rows += [
            compare(
                "fleet.redis_hit.hiredis_vs_python_parser",
                "Redis hit with hiredis (redis[hiredis]) vs with redis-py's Python parser",
                med["ours_redis"],
                "ours, Python parser",
                med["ours_redis_python"],
            ),
            compare(
                "fleet.redis_hit.vs_dogpile_redis_python_parser",
                "Redis hit vs dogpile.cache.redis get, both with redis-py's Python parser",
                med["ours_redis_python"],
                "dogpile, Python parser",
                med["dogpile_redis_python"],
            ),
            compare(
                "fleet.redis_get.hiredis_vs_python_parser",
                "bare redis-py GET of the entry: hiredis vs the Python parser",
                med["redis_get"],
                "GET, Python parser",
                med["redis_get_python"],
            ),
        ]
    return rows
