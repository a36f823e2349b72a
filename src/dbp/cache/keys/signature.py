"""A function's parameter list as source text, for generating look-alike functions.

[Intent]
Key builders and hit paths are generated (once, with ``exec``) with the *same
parameter list* as the decorated function: Python's own argument binding then maps
any call to the right parameters, in C, and a call the original would reject fails
the same way. Generated code only ever contains parameter names taken from the
signature.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, NamedTuple

__all__ = ["SignatureSource", "signature_source"]


class SignatureSource(NamedTuple):
    """A function's parameter list as source text, for generating look-alike functions.

    ``params`` re-declares the parameters (defaults bound to names in
    ``defaults``, annotations dropped); ``args``/``kwargs`` are expressions that
    rebuild the original call from those parameters.
    """

    names: tuple[str, ...]
    params: str
    defaults: dict[str, Any]
    args: str
    kwargs: str

    def define(
        self, name: str, body: str, namespace: dict[str, Any], *, is_async: bool = False
    ) -> Callable[..., Any]:
        """``exec`` ``[async] def name(<params>): <body>`` in ``namespace`` and return it."""
        namespace.update(self.defaults)
        lead = "__dbp_self, " if name == "__call__" else ""
        source = f"{'async ' if is_async else ''}def {name}({lead}{self.params}):\n{body}\n"
        exec(source, namespace)
        function: Callable[..., Any] = namespace[name]
        return function


def signature_source(func: Callable[..., Any]) -> SignatureSource:
    """Analyse ``func``'s signature once, at decoration time."""
    signature = inspect.signature(func, follow_wrapped=False)
    parts: list[str] = []
    defaults: dict[str, Any] = {}
    positional: list[str] = []
    keywords: list[str] = []
    seen_keyword_only = False
    previous_positional_only = False
    for p in signature.parameters.values():
        if previous_positional_only and p.kind is not p.POSITIONAL_ONLY:
            parts.append("/")
        previous_positional_only = p.kind is p.POSITIONAL_ONLY
        if p.kind is p.VAR_POSITIONAL:
            parts.append(f"*{p.name}")
            positional.append(f"*{p.name}")
            seen_keyword_only = True
            continue
        if p.kind is p.VAR_KEYWORD:
            parts.append(f"**{p.name}")
            keywords.append(f"**{p.name}")
            continue
        if p.kind is p.KEYWORD_ONLY:
            if not seen_keyword_only:
                parts.append("*")
                seen_keyword_only = True
            keywords.append(f"{p.name!r}: {p.name}")
        else:
            positional.append(p.name)
        if p.default is p.empty:
            parts.append(p.name)
        else:
            default_name = f"__dbp_default_{len(defaults)}"
            defaults[default_name] = p.default
            parts.append(f"{p.name}={default_name}")
    if previous_positional_only:
        parts.append("/")
    return SignatureSource(
        names=tuple(signature.parameters),
        params=", ".join(parts),
        defaults=defaults,
        args="(" + "".join(f"{a}, " for a in positional) + ")",
        kwargs="{" + ", ".join(keywords) + "}",
    )
