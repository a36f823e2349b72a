"""Stable names of decorated callables: the prefix of derived keys and the owner of entries.

[Intent]
A derived key starts with the decorated callable's name, and ``cache_clear()``
finds a function's entries by it, in every process and on every host. So the name
must be the same in every process (never an address) and must tell apart callables
that may return different things: functions made by one factory differ by their
closure, a ``functools.partial`` by its bound arguments, a bound method by its
instance.

[Design principles]
- ``module.qualname``, then ``(bound arguments)`` for partials and bound methods,
  then ``[closure values]``, each value by :func:`~.values.stable_text`.
- A value without a stable text raises :class:`~.values.UnstableKeyError`: such
  callables get no derived key (their calls bypass the cache, with one warning).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from .values import UnstableKeyError, stable_text

__all__ = ["bound_text", "closure_text", "derived_key_prefix", "stable_name"]

#: Longer closure texts are replaced by their digest in keys and owner names.
_CLOSURE_TEXT_MAX = 40
#: Functions in closures are named with their own closures down to this depth.
_MAX_NESTING = 4


def derived_key_prefix(func: Any) -> str:
    """``module.qualname`` of ``func`` (of what it wraps, for partials and bound methods).

    Never an address: a callable object without a qualified name is named by its class.
    """
    while isinstance(func, functools.partial):
        func = func.func
    func = getattr(func, "__func__", func)  # a bound method: its function
    qualname = getattr(func, "__qualname__", None)
    if not isinstance(qualname, str):
        func, qualname = type(func), type(func).__qualname__
    elif "<" in qualname:  # a lambda or a local function: its name is not unique
        qualname += _code_text(getattr(func, "__code__", None))
    return f"{getattr(func, '__module__', None) or '?'}.{qualname}"


def _code_text(code: Any) -> str:
    """``@<line>#<digest of the code>``: tells apart lambdas and local functions of one name.

    Two lambdas of a module are both ``<lambda>``, and two local functions of one
    name (one per branch) share their qualified name: derived keys would mix their
    results. Their first line and a digest of their byte code and constants (by
    stable text, so equal in every process of one Python version) tell them apart.
    """
    if code is None:
        return ""
    import hashlib

    digest = hashlib.blake2b(_code_bytes(code), digest_size=6).hexdigest()
    return f"@{code.co_firstlineno}#{digest}"


def _code_bytes(code: Any) -> bytes:
    parts = [code.co_code, "\0".join(code.co_names).encode()]
    for const in code.co_consts:
        if inspect.iscode(const):
            parts.append(_code_bytes(const))
        else:
            try:
                parts.append(stable_text(const).encode("utf-8", "surrogatepass"))
            except UnstableKeyError:
                parts.append(type(const).__qualname__.encode())
    return b"\x1f".join(parts)


def stable_name(func: Any, depth: int = 0) -> str:
    """``func``'s name with what tells its instances apart; :class:`UnstableKeyError` if none."""
    if isinstance(func, functools.partial):
        return stable_name(func.func, depth) + bound_text(func.args, func.keywords, func)
    bound_to = getattr(func, "__self__", None)
    if inspect.ismethod(func):
        return stable_name(func.__func__, depth) + bound_text((bound_to,), {}, func)
    if inspect.isbuiltin(func) and not (bound_to is None or inspect.ismodule(bound_to)):
        return derived_key_prefix(func) + bound_text((bound_to,), {}, func)  # {}.get, say
    if inspect.isroutine(func) or inspect.isclass(func):
        return derived_key_prefix(func) + closure_text(func, depth)
    try:  # a callable object: its value is its identity, if it has one
        return stable_text(func)
    except UnstableKeyError:
        raise UnstableKeyError(
            f"{derived_key_prefix(func)} is a callable object with no stable text, so keys "
            "derived from its name could mix it up with another; give the decorator an "
            "explicit key="
        ) from None


def bound_text(args: tuple[Any, ...], keywords: dict[str, Any], func: Any) -> str:
    """``(arg,...,name=value)``: the bound arguments of a partial or a bound method."""
    try:
        parts = [stable_text(a) for a in args]
        parts += [f"{k}={stable_text(v)}" for k, v in sorted(keywords.items())]
    except UnstableKeyError as exc:
        raise UnstableKeyError(
            f"{derived_key_prefix(func)} is bound to arguments without a stable text ({exc}), "
            "so keys derived from it could serve one binding's result to another; give the "
            "decorator an explicit key="
        ) from None
    return "(" + ",".join(parts) + ")"


def closure_text(func: Callable[..., Any], depth: int = 0) -> str:
    """Stable text of the values ``func`` closes over ("" without a closure).

    Two functions made by one factory (``make_adder(1)``, ``make_adder(2)``) have the
    same module and qualified name; their closures tell them apart. Classes and
    modules in the closure are named by their qualified name, functions by their
    own stable name (closure included); an empty cell (a function that refers to
    itself) is skipped. Raises :class:`UnstableKeyError` when a value has no text
    that is the same in every process.
    """
    cells = getattr(func, "__closure__", None) or ()
    names = getattr(getattr(func, "__code__", None), "co_freevars", ())
    parts = []
    for name, cell in zip(names, cells, strict=False):
        try:
            value = cell.cell_contents
        except ValueError:  # not yet assigned: the function itself, being decorated
            continue
        try:
            text = _closure_value_text(value, depth)
        except UnstableKeyError:
            raise UnstableKeyError(
                f"{derived_key_prefix(func)} closes over {name}, a "
                f"{type(value).__qualname__} with no stable text, so functions made by its "
                "factory can't be told apart; give the decorator an explicit key="
            ) from None
        parts.append(f"{name}={text}")
    if not parts:
        return ""
    text = ",".join(parts)
    if len(text) > _CLOSURE_TEXT_MAX:  # keep keys and owner names short: a digest
        import hashlib

        text = (
            "#" + hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()
        )
    return f"[{text}]"


def _closure_value_text(value: Any, depth: int) -> str:
    if inspect.ismodule(value):
        return value.__name__
    if inspect.isclass(value):
        return derived_key_prefix(value)
    wrapped = getattr(value, "__wrapped__", None)
    if callable(wrapped) and not inspect.isfunction(value):  # another decorated function
        value = wrapped
    if inspect.isfunction(value):
        if depth >= _MAX_NESTING:  # functions closing over each other
            return derived_key_prefix(value)
        return stable_name(value, depth + 1)
    return stable_text(value)
