"""Key templates and key builders, compiled once at decoration time.

[Intent]
``"bedrock_models:<region>"`` must give the same key whether ``region`` is passed
positionally, by keyword or left to its default, and the call path must not pay
for ``inspect`` to find that out. A template that is not well formed (an unclosed
``<``, a stray ``>``, an empty ``<>``) would be taken literally and merge every
call into one key: it is refused when the function is decorated.

[Implementation details]
For each decorated function we generate (once, with ``exec``) a small function
with the *same parameter list* that returns the key (see :mod:`.signature`).
Generated code only ever contains parameter names taken from the signature and
validated identifiers.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, NamedTuple

from .names import derived_key_prefix
from .signature import SignatureSource, signature_source
from .values import placeholder_text, stable_text

__all__ = [
    "KeyBuilder",
    "Placeholder",
    "compile_key",
    "key_expression",
    "key_parts",
    "parse_template",
]

KeyBuilder = Callable[..., str]

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


class Placeholder(NamedTuple):
    """``<name>`` or ``<name.attr>`` in a template, and where it starts."""

    path: str
    position: int


def parse_template(template: str, where: str) -> list[str | Placeholder]:
    """Literal text and placeholders of ``template``; ``ValueError`` showing where it breaks."""
    pieces: list[str | Placeholder] = []
    literal_from = 0
    opened = -1
    for i, char in enumerate(template):
        if char == "<":
            if opened >= 0:
                _malformed(template, where, opened, "'<' is not closed before the next '<'")
            if i > literal_from:
                pieces.append(template[literal_from:i])
            opened = i
        elif char == ">":
            if opened < 0:
                _malformed(template, where, i, "'>' closes no '<'")
            if i == opened + 1:
                _malformed(template, where, opened, "'<>' names no parameter")
            pieces.append(Placeholder(template[opened + 1 : i], opened))
            opened, literal_from = -1, i + 1
    if opened >= 0:
        _malformed(template, where, opened, "'<' is never closed")
    if literal_from < len(template):
        pieces.append(template[literal_from:])
    return pieces


def _malformed(template: str, where: str, position: int, problem: str) -> None:
    raise ValueError(
        f"key template {template!r} for {where} is malformed: {problem} "
        f"(position {position}):\n    {template}\n    {' ' * position}^\n"
        "placeholders are <parameter> or <parameter.attribute>; '<' and '>' have no "
        "other meaning in a template"
    )


def key_parts(key: str | Callable[..., Any] | None, sig: SignatureSource) -> tuple[str, ...]:
    """What a key is made of: the parameters (derived key) or the placeholders' paths."""
    if key is None:
        return sig.names
    if isinstance(key, str):
        return tuple(p.path for p in parse_template(key, "") if isinstance(p, Placeholder))
    return ()


def key_expression(
    key: str | Callable[..., Any] | None,
    func: Callable[..., Any],
    sig: SignatureSource,
    *,
    prefix: str | None = None,
) -> tuple[str, dict[str, Any]]:
    """Source of an expression computing the key from ``func``'s parameters.

    ``key`` is a template (``"bedrock_models:<region>"``, ``"<self.region>"``), a
    callable taking the same arguments, or ``None`` for a key derived from
    ``prefix`` (default: the function's module and qualified name) and the arguments.
    """
    where = derived_key_prefix(func)
    pieces: list[str] = []
    if key is None:
        # name=value pairs, one per parameter (*args as a tuple, **kwargs as a dict).
        pieces.append(repr((prefix or where) + ":"))
        for i, name in enumerate(sig.names):
            label = f"{',' if i else ''}{name}="
            pieces.append(
                f"{label!r} + ({name}.__repr__() if {name}.__class__ is str "
                f"else __dbp_stable({name}))"
            )
        return " + ".join(pieces), {"__dbp_stable": stable_text}
    if callable(key):
        return f"__dbp_key_callable(*{sig.args}, **{sig.kwargs})", {
            "__dbp_key_callable": _checked_callable(key, where)
        }
    if not isinstance(key, str):
        raise TypeError(f"key must be a str template, a callable or None, not {type(key).__name__}")
    if not key:
        raise ValueError(f"key template for {where} must not be empty")
    for piece in parse_template(key, where):
        if isinstance(piece, Placeholder):
            pieces.append(_placeholder_code(piece.path, list(sig.names), where, key))
        else:
            pieces.append(repr(piece))
    return " + ".join(pieces), {"__dbp_text": placeholder_text}


def compile_key(key: str | Callable[..., Any] | None, func: Callable[..., Any]) -> KeyBuilder:
    """A function taking ``func``'s arguments and returning its cache key."""
    sig = signature_source(func)
    expression, namespace = key_expression(key, func, sig)
    builder = sig.define("cache_key", f"    return {expression}", namespace)
    builder.__qualname__ = f"cache_key<{derived_key_prefix(func)}>"
    return builder


def _placeholder_code(name: str, params: list[str], where: str, template: str) -> str:
    path = name.split(".")
    if not all(_IDENTIFIER.match(part) for part in path):
        raise ValueError(
            f"key template {template!r} for {where}: placeholder <{name}> is not a "
            "parameter name or a dotted attribute path such as <self.region>"
        )
    if path[0] not in params:
        raise ValueError(
            f"key template {template!r} for {where}: placeholder <{name}> names no "
            f"parameter of the function (parameters: {', '.join(params) or 'none'})"
        )
    return f"({name} if {name}.__class__ is str else __dbp_text({name}))"


def _checked_callable(key: Callable[..., Any], where: str) -> Callable[..., str]:
    def build(*args: Any, **kwargs: Any) -> str:
        result = key(*args, **kwargs)
        if not isinstance(result, str) or not result:
            raise TypeError(
                f"key callable for {where} must return a non-empty str, returned {result!r}"
            )
        return result

    return build
