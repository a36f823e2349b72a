"""A Redis client (sync or async) with the library's scripts, sent whole by ``EVAL``."""

from __future__ import annotations

from typing import Any, NamedTuple

__all__ = ["Connection", "Script", "text"]


def text(value: object) -> str:
    """A reply as text (redis-py returns bytes)."""
    return value.decode() if isinstance(value, bytes) else str(value)


class Script(NamedTuple):
    """A Lua script sent whole with ``EVAL``: one round trip whatever the server's
    script cache holds (redis-py's ``register_script`` costs three on a fresh or
    failed-over server: ``EVALSHA``, ``SCRIPT LOAD``, ``EVALSHA``). Redis caches the
    compiled script by its hash either way; the text is under 1.5 kB."""

    client: Any
    source: str

    def __call__(self, *, keys: list[str], args: list[Any]) -> Any:
        return self.client.eval(self.source, len(keys), *keys, *args)


class Connection(NamedTuple):
    """A client (sync or async) and its scripts."""

    client: Any
    acquire: Script
    release: Script
    set_entry: Script
    current_generation: Script
    replace_generation: Script

    @classmethod
    def of(cls, client: Any) -> Connection:
        from .scripts import (
            ACQUIRE,
            CURRENT_GENERATION,
            RELEASE,
            REPLACE_GENERATION,
            SET_ENTRY,
        )

        return cls(
            client,
            Script(client, ACQUIRE),
            Script(client, RELEASE),
            Script(client, SET_ENTRY),
            Script(client, CURRENT_GENERATION),
            Script(client, REPLACE_GENERATION),
        )
