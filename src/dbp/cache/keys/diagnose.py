"""Why a call's key could not be built: which argument, and the fix to suggest.

[Intent]
A call whose key would hold an argument without a stable text bypasses the
cache with one warning (see :mod:`.values`). The warning is only useful if it
names the parameter and shows what to write instead; the generated key builder
does not know which part failed, so this finds out, once per function, on the
slow path.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from .values import UnstableKeyError, placeholder_text, stable_text

__all__ = ["explain_unstable"]


def explain_unstable(
    func: Callable[..., Any],
    parts: tuple[str, ...],
    templated: bool,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> str | None:
    """What to tell the user about the argument whose text is not its value, if found.

    ``parts`` are the parameters a derived key is made of, or the placeholders'
    paths of a template (``templated``).
    """
    try:
        signature = inspect.signature(func)
        bound = signature.bind(*args, **kwargs)
    except (TypeError, ValueError):
        return None
    bound.apply_defaults()
    for path in parts:
        head, *attributes = path.split(".")
        if head not in bound.arguments:
            continue
        value = bound.arguments[head]
        try:
            for attribute in attributes:
                value = getattr(value, attribute)
            placeholder_text(value) if templated else stable_text(value)
        except (UnstableKeyError, AttributeError):
            return _advice(func, signature, path, value, templated)
    return None


def _advice(
    func: Callable[..., Any], signature: inspect.Signature, path: str, value: Any, templated: bool
) -> str:
    kind = f"{type(value).__module__}.{type(value).__qualname__}"
    what = f"placeholder <{path}>" if templated else f"argument {path!r}"
    problem = (
        f"its {what} is a {kind}, whose text is not its value (two different ones can read "
        "the same, or name a memory address that is reused), so its key could return "
        "another call's result"
    )
    if templated and "." in path:
        return (
            f"{problem}. Name a plain attribute of it (a str, number or tuple of them) or pass "
            "a key callable."
        )
    suggestion = _suggested_template(func, signature, path, value)
    leave_out = f", or leave {path} out of the template" if templated else ""
    return (
        f"{problem}. Name what the result depends on instead, e.g. key={suggestion!r} "
        f"(whatever tells two of them apart: region, account, profile), pass a key "
        f"callable{leave_out}."
    )


def _suggested_template(
    func: Callable[..., Any], signature: inspect.Signature, bad: str, value: Any
) -> str:
    attribute = "attribute"
    if isinstance(getattr(value, "region_name", None), str):  # a boto3 Session
        attribute = "region_name"
    elif isinstance(getattr(getattr(value, "meta", None), "region_name", None), str):  # a client
        attribute = "meta.region_name"
    fields = []
    for p in signature.parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        fields.append(f"<{p.name}.{attribute}>" if p.name == bad else f"<{p.name}>")
    name = getattr(func, "__name__", None) or "name"
    return ":".join([name, *fields])
