"""The decorator's options, checked once at decoration time with errors that name them."""

from __future__ import annotations

from collections.abc import Callable

__all__ = [
    "DEFAULT_MAX_STALE_SECONDS",
    "ErrorSpec",
    "refresh_fraction",
    "stale_predicate",
]

ErrorSpec = (
    bool | type[BaseException] | tuple[type[BaseException], ...] | Callable[[BaseException], bool]
)

#: How long past expiry a value may be served on error when ``max_stale`` is not given.
DEFAULT_MAX_STALE_SECONDS = 86_400.0


def refresh_fraction(value: object) -> float:
    """``refresh_ahead``: ``None`` or 0 (off), or a fraction of the lifetime below 1."""
    if value is None:
        return 0.0
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(
            f"refresh_ahead must be a fraction such as 0.1, or None, not {type(value).__name__}"
        )
    if not 0 <= value < 1:
        raise ValueError(f"refresh_ahead must be >= 0 and < 1 (0 turns it off), got {value!r}")
    return float(value)


def stale_predicate(spec: ErrorSpec) -> Callable[[BaseException], bool] | None:
    """Turn ``serve_stale_on_error`` into "may this error be answered with a stale value?"."""
    if spec is False or spec is None:
        return None
    if spec is True:
        return lambda error: isinstance(error, Exception)
    if isinstance(spec, type) and issubclass(spec, BaseException):
        return lambda error: isinstance(error, spec)
    if (
        isinstance(spec, tuple)
        and spec
        and all(isinstance(e, type) and issubclass(e, BaseException) for e in spec)
    ):
        return lambda error: isinstance(error, spec)
    if callable(spec) and not isinstance(spec, type):
        return spec
    raise TypeError(
        "serve_stale_on_error must be True, False, an exception class, a tuple of them "
        f"or a predicate taking the exception, not {spec!r}"
    )
