"""Package names loaded on first access (PEP 562), so importing a package stays cheap.

``import dbp.llm.bedrock.discovery`` must not cost a program the engine, wrapt and
typing before it decorates anything; the first access of a name imports its module.
"""

from __future__ import annotations

# typing.TYPE_CHECKING without importing typing (about 7 ms at start-up).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, where: dict[str, str], namespace: dict[str, object]
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``: ``where`` maps each name to its module
    (relative to ``package``, or absolute); a loaded name is kept in ``namespace``."""

    def __getattr__(name: str) -> object:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        import importlib

        value = getattr(importlib.import_module(module, package), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *where})

    return __getattr__, __dir__
