"""Cache keys for decorated functions, compiled once at decoration time.

[Intent]
``"bedrock_models:<region>"`` must give the same key whether ``region`` is passed
positionally, by keyword or left to its default, and the call path must not pay
for ``inspect`` to find that out.

[Implementation details]
For each decorated function we generate (once, with ``exec``) a small function
with the *same parameter list* that returns the key. Python's own argument
binding then maps any call to the right parameters, in C, and a call the
original would reject fails the same way. Generated code only ever contains
parameter names taken from the signature and validated identifiers.
"""

from __future__ import annotations

import datetime as _dt
import enum
import inspect
import re
from collections.abc import Callable
from typing import Any, NamedTuple

__all__ = [
    "KeyBuilder",
    "SignatureSource",
    "UnstableKeyError",
    "check_key",
    "closure_text",
    "compile_key",
    "derived_key_prefix",
    "key_expression",
    "signature_source",
    "stable_text",
]

KeyBuilder = Callable[..., str]

_PLACEHOLDER = re.compile(r"<([^<>]*)>")
#: Longer closure texts are replaced by their digest in keys and owner names.
_CLOSURE_TEXT_MAX = 40
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


class UnstableKeyError(TypeError):
    """An argument has no representation that is the same in every process."""


def stable_text(value: Any) -> str:
    """Text for ``value`` that is equal across processes for equal values.

    Raises :class:`UnstableKeyError` for objects whose only text is the default
    ``<Foo object at 0x...>``: addresses are reused, so such a key could serve
    another object's value.
    """
    if isinstance(value, str):
        return repr(value)
    if value is None or isinstance(value, (bool, int, float)):
        return repr(value)
    if isinstance(value, enum.Enum):
        return f"{type(value).__qualname__}.{value.name}"
    if isinstance(value, (tuple, list)):
        inner = ",".join(stable_text(v) for v in value)
        return f"({inner})" if isinstance(value, tuple) else f"[{inner}]"
    if isinstance(value, dict):
        items = sorted((stable_text(k), stable_text(v)) for k, v in value.items())
        return "{" + ",".join(f"{k}:{v}" for k, v in items) + "}"
    if isinstance(value, (set, frozenset)):
        return "{" + ",".join(sorted(stable_text(v) for v in value)) + "}"
    if isinstance(value, (_dt.datetime, _dt.date, _dt.time, _dt.timedelta)):
        return repr(value)
    if isinstance(value, bytes):
        return repr(value)
    if isinstance(value, type):
        return f"{value.__module__}.{value.__qualname__}"
    if getattr(type(value), "__repr__", None) is not object.__repr__:
        return repr(value)
    raise UnstableKeyError(
        f"cannot derive a stable cache key from a {type(value).__qualname__} argument "
        "(its repr holds a memory address); give the decorator a key template such as "
        "key='thing:<arg.attr>' or a key callable"
    )


def placeholder_text(value: Any) -> str:
    """What a ``<name>`` placeholder inserts: ``str`` for plain values."""
    if isinstance(value, enum.Enum):
        value = value.value
    if value is None or isinstance(value, (str, int, float)):
        return str(value)
    return stable_text(value)


def derived_key_prefix(func: Callable[..., Any]) -> str:
    """``module.qualname`` of ``func``: stable across processes (unlike ``hash``)."""
    return f"{getattr(func, '__module__', None) or '?'}.{getattr(func, '__qualname__', repr(func))}"


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

    def define(self, name: str, body: str, namespace: dict[str, Any]) -> Callable[..., Any]:
        """``exec`` ``def name(<params>): <body>`` in ``namespace`` and return it."""
        namespace.update(self.defaults)
        lead = "__dbp_self, " if name == "__call__" else ""
        source = f"def {name}({lead}{self.params}):\n{body}\n"
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


def closure_text(func: Callable[..., Any]) -> str:
    """Stable text of the values ``func`` closes over ("" without a closure).

    Two functions made by one factory (``make_adder(1)``, ``make_adder(2)``) have the
    same module and qualified name; their closures tell them apart. Functions,
    classes and modules in the closure are named by their qualified name; an empty
    cell (a function that refers to itself) is skipped. Raises
    :class:`UnstableKeyError` when a value has no text that is the same in every
    process.
    """
    cells = getattr(func, "__closure__", None) or ()
    names = getattr(getattr(func, "__code__", None), "co_freevars", ())
    parts = []
    for name, cell in zip(names, cells, strict=False):
        try:
            value = cell.cell_contents
        except ValueError:  # not yet assigned: the function itself, being decorated
            continue
        if inspect.isfunction(value) or inspect.isclass(value) or inspect.ismodule(value):
            text = derived_key_prefix(value) if not inspect.ismodule(value) else value.__name__
        elif callable(getattr(value, "__wrapped__", None)):  # another decorated function
            text = derived_key_prefix(value.__wrapped__)
        else:
            try:
                text = stable_text(value)
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
    position = 0
    for match in _PLACEHOLDER.finditer(key):
        if match.start() > position:
            pieces.append(repr(key[position : match.start()]))
        pieces.append(_placeholder_code(match.group(1), list(sig.names), where, key))
        position = match.end()
    if position < len(key):
        pieces.append(repr(key[position:]))
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


def check_key(key: object) -> str:
    """A cache key is a non-empty ``str``; anything else is a clear error."""
    if not isinstance(key, str):
        raise TypeError(f"cache key must be a str, not {type(key).__name__}")
    if not key:
        raise ValueError("cache key must be a non-empty string")
    if not key.isascii():
        try:
            key.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ValueError(f"cache key {key!r} is not valid Unicode text: {exc.reason}") from None
    return key
