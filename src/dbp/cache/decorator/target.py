"""What ``@discovery_cached`` was given: the function to call, what to wrap, its name.

[Intent]
Functions, methods, classmethods, staticmethods, ``functools.partial`` objects,
``functools.partialmethod`` objects, bound methods and callable objects can all
be decorated. Each needs three things settled once: the plain callable a miss
calls, the object the wrapt proxy wraps (so it binds as the original would), and
a name that is the same in every process (see :mod:`dbp.cache.keys.names`).

[Implementation details]
A ``partialmethod`` is not callable and binds only through its own descriptor;
it becomes a generated method with the remaining parameters (the instance first,
then what the partial leaves open), so the key, the hit path and the binding work
as for a method written out by hand.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, NamedTuple

from ..keys import (
    UnstableKeyError,
    bound_text,
    derived_key_prefix,
    signature_source,
    stable_name,
)

__all__ = ["Target", "target_of"]


class Target(NamedTuple):
    """The decorated object, settled."""

    func: Callable[..., Any]  # what a miss calls
    wrapped: Any  # what the proxy wraps: binds like the original
    name: str  # never an address: for messages, and the owner when ``stable`` is None
    stable: str | None  # name with closure and bound arguments: the owner, the key prefix
    unstable: UnstableKeyError | None  # why ``stable`` is None


def target_of(obj: Any) -> Target:
    """Settle ``obj``; a ``TypeError`` saying what to do when it cannot be decorated."""
    if isinstance(obj, functools.partialmethod):
        func = wrapped = _method_of(obj)
        name = derived_key_prefix(obj.func)
    else:
        func = obj.__func__ if isinstance(obj, (classmethod, staticmethod)) else obj
        if not callable(func):
            raise TypeError(
                f"discovery_cached must decorate a function, not {type(obj).__name__}; "
                "did you write @discovery_cached without parentheses?"
            )
        wrapped, name = obj, derived_key_prefix(func)
    try:
        if isinstance(obj, functools.partialmethod):
            stable = stable_name(obj.func) + bound_text(obj.args, obj.keywords, obj.func)
        else:
            stable = stable_name(func)
    except UnstableKeyError as exc:
        return Target(func, wrapped, name, None, exc)
    return Target(func, wrapped, name, stable, None)


def _method_of(method: functools.partialmethod[Any]) -> Callable[..., Any]:
    """A plain (or ``async``) method equal to ``method``: the instance, then what is left open."""
    func = method.func
    if not inspect.isfunction(func):
        raise TypeError(
            "discovery_cached can decorate a functools.partialmethod of a plain function, not "
            f"of a {type(func).__name__}; decorate the function and bind its arguments "
            "with functools.partialmethod(discovery_cached(...)(function), ...) instead"
        )
    first = next(iter(inspect.signature(func).parameters.values()), None)
    if first is None or first.kind not in (first.POSITIONAL_ONLY, first.POSITIONAL_OR_KEYWORD):
        raise TypeError(
            f"functools.partialmethod of {derived_key_prefix(func)}: the function takes no "
            "positional first parameter to receive the instance"
        )
    rest = signature_source(functools.partial(func, None, *method.args, **method.keywords))
    keywords = f"{{**__dbp_keywords, **{rest.kwargs}}}"
    call = f"__dbp_func({first.name}, *__dbp_args, *{rest.args}, **{keywords})"
    is_async = inspect.iscoroutinefunction(func)
    body = f"    return {'await ' if is_async else ''}{call}"
    namespace = {
        "__dbp_func": func,
        "__dbp_args": method.args,
        "__dbp_keywords": method.keywords,
        **rest.defaults,
    }
    params = f"{first.name}, {rest.params}" if rest.params else first.name
    source = f"{'async ' if is_async else ''}def {func.__name__}({params}):\n{body}\n"
    exec(source, namespace)
    generated: Callable[..., Any] = namespace[func.__name__]
    for attribute in ("__module__", "__qualname__", "__doc__"):
        setattr(generated, attribute, getattr(func, attribute))
    return generated
