"""The wrapt proxies ``@discovery_cached`` returns, with the ``cache_*`` methods.

Built on ``wrapt.FunctionWrapper`` so methods, classmethods and staticmethods bind
correctly and name, docstring, signature and ``__wrapped__`` are kept. Like
``functools.lru_cache`` functions, a cached function pickles by reference (module
and qualified name), so it can be passed to process pools, and copies of it are
the function itself.
"""

from __future__ import annotations

import functools
import importlib
import types
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import wrapt

from ..info import CacheInfo
from .core import Core

__all__ = ["BoundCachedFunction", "BoundHit", "CachedFunction", "bound_hit_get"]

if TYPE_CHECKING:
    _FunctionWrapper = wrapt.FunctionWrapper[..., Any]
    _BoundFunctionWrapper = wrapt.BoundFunctionWrapper[..., Any]
else:
    _FunctionWrapper = wrapt.FunctionWrapper
    _BoundFunctionWrapper = wrapt.BoundFunctionWrapper


def _full_args(instance: Any, args: tuple[Any, ...]) -> tuple[Any, ...]:
    return args if instance is None else (instance, *args)


def _by_qualified_name(module: str, qualname: str) -> Any:
    """Unpickling a cached function: import its module, walk its qualified name."""
    found: Any = importlib.import_module(module)
    for part in qualname.split("."):
        found = getattr(found, part)
    return found


class BoundCachedFunction(_BoundFunctionWrapper):
    """A cached method bound to an instance (or a classmethod bound to its class)."""

    def _bound_instance(self) -> Any:
        """What the function receives first: the instance, the class, or nothing."""
        if self._self_binding == "classmethod":
            return getattr(self.__wrapped__, "__self__", None)
        if self._self_binding == "staticmethod":
            return None
        return self._self_instance

    @property
    def _core(self) -> Core:
        core: Core = self._self_parent._self_core
        return core

    def cache_info(self) -> CacheInfo:
        """Hit and miss counts of this function (shared by all instances)."""
        return self._core.stats.snapshot()

    def cache_clear(self) -> int:
        """Remove every entry this function stored, in every tier; reset the counts."""
        return self._core.clear(self._bound_instance())

    def cache_key(self, *args: Any, **kwargs: Any) -> str:
        """The cache key a call with these arguments uses."""
        instance = self._bound_instance()
        return self._core.key(*_full_args(instance, args), **kwargs)

    def invalidate(self, *args: Any, **kwargs: Any) -> int:
        """Drop the entry a call with these arguments would use."""
        instance = self._bound_instance()
        return self._core.invalidate(instance, _full_args(instance, args), kwargs)

    def refresh(self, *args: Any, **kwargs: Any) -> Any:
        """Call anew and store the result, even if a fresh one is cached."""
        instance = self._bound_instance()
        return self._core.refresh(instance, _full_args(instance, args), kwargs)

    def __reduce_ex__(self, protocol: Any) -> tuple[Any, ...]:
        # Like a bound method: the object it is bound to, and the attribute name.
        bound = self._self_instance
        if bound is None or self._self_binding == "staticmethod":
            bound = getattr(self.__wrapped__, "__self__", None) or self._self_owner
        return (getattr, (bound, self._core.attribute))

    def __copy__(self) -> BoundCachedFunction:
        return self

    def __deepcopy__(self, memo: Any) -> BoundCachedFunction:
        return self


class BoundHit(functools.partial[Any]):
    """A cached method bound to an instance: ``hit`` with the instance first.

    [Intent]
    Method hits are the main way this library is used; binding a wrapt proxy per
    attribute access cost more than the hit itself. This is a ``functools.partial``
    (bound and called in C) of the method's generated hit path, plus the same
    ``cache_*`` API as the wrapt bound wrapper it stands in for.

    [Implementation details]
    One subclass per decorated method (:func:`bound_hit_type`) carries its core.
    Only plain functions (``def`` or ``async def``) accessed through an instance take
    this path; class access, classmethods and staticmethods keep wrapt's binding.
    """

    __slots__ = ()
    _core: Core

    @property
    def __self__(self) -> Any:
        return self.args[0]

    @property
    def __wrapped__(self) -> Any:
        return types.MethodType(self._core.func, self.args[0])

    @property
    def __name__(self) -> str:
        return str(getattr(self._core.func, "__name__", "method"))

    def __getattr__(self, name: str) -> Any:
        # The rest of the function's attributes (__qualname__, __module__ ...), as a
        # bound method shows them.
        return getattr(self._core.func, name)

    def __repr__(self) -> str:
        return f"<bound cached method {self.__wrapped__.__qualname__} of {self.args[0]!r}>"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, BoundHit)
            and other._core is self._core
            and other.args[0] is self.args[0]
        )

    def __hash__(self) -> int:
        return hash((id(self._core), id(self.args[0])))

    def cache_info(self) -> CacheInfo:
        """Hit and miss counts of this function (shared by all instances)."""
        return self._core.stats.snapshot()

    def cache_clear(self) -> int:
        """Remove every entry this function stored, in every tier; reset the counts."""
        return self._core.clear(self.args[0])

    def cache_key(self, *args: Any, **kwargs: Any) -> str:
        """The cache key a call with these arguments uses."""
        return self._core.key(self.args[0], *args, **kwargs)

    def invalidate(self, *args: Any, **kwargs: Any) -> int:
        """Drop the entry a call with these arguments would use."""
        return self._core.invalidate(self.args[0], (self.args[0], *args), kwargs)

    def refresh(self, *args: Any, **kwargs: Any) -> Any:
        """Call anew and store the result, even if a fresh one is cached."""
        return self._core.refresh(self.args[0], (self.args[0], *args), kwargs)

    def __reduce_ex__(self, protocol: Any) -> tuple[Any, ...]:
        return (getattr, (self.args[0], self._core.attribute))

    def __copy__(self) -> BoundHit:
        return self

    def __deepcopy__(self, memo: Any) -> BoundHit:
        return self


def bound_hit_get(core: Core, hit: Callable[..., Any]) -> Callable[..., Any]:
    """The ``__get__`` of a cached method: a :class:`BoundHit` through an instance."""
    namespace = {"__slots__": (), "_core": core, "__doc__": core.func.__doc__}
    bound_type = type("BoundHit", (BoundHit,), namespace)

    def __get__(self: Any, instance: Any, owner: Any = None) -> Any:
        if instance is None:
            return self._through_class(owner)
        return bound_type(hit, instance)

    return __get__


class CachedFunction(_FunctionWrapper):
    """What ``@discovery_cached`` returns: the function plus ``cache_*`` methods."""

    __bound_function_wrapper__ = BoundCachedFunction

    def __init__(self, wrapped: Callable[..., Any], core: Core) -> None:
        # The bound path (methods, classmethods, staticmethods): wrapt has
        # already split off the instance; the key and the call want it back.
        def wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
            full = _full_args(instance, args)
            if core.is_async:
                return core.acall(instance, full, kwargs)  # a coroutine, awaited by the caller
            return core.call(instance, full, kwargs)

        super().__init__(wrapped, wrapper)
        self._self_core = core
        #: Its unbound wrapper per class whose own namespace holds it (see _through_class).
        self._self_through_class: dict[type, Any] = {}

    def __set_name__(self, owner: type, name: str) -> None:
        super().__set_name__(owner, name)  # type: ignore[misc]  # wrapt's, untyped
        self._self_core.attribute = name
        self._self_core.reachable_as = (owner.__module__, f"{owner.__qualname__}.{name}")

    def __get__(self, instance: Any, owner: Any = None) -> Any:
        if instance is None:
            return self._through_class(owner)
        return _FunctionWrapper.__get__(self, instance, owner)

    def _through_class(self, owner: Any) -> Any:
        """A method reached through its class: the same object every time, as with lru_cache.

        So ``Cls.m is Cls.m`` and unpickling gives the very object. Kept only for the
        class that holds it in its own namespace: that class and the wrapper reference
        each other, so both are collected together (a subclass kept here would live as
        long as its base). Classmethods bind to the class anew, as Python's do.
        """
        if owner is None or self._self_binding not in ("function", "staticmethod"):
            return _FunctionWrapper.__get__(self, None, owner)
        found = self._self_through_class.get(owner)
        if found is None:
            found = _FunctionWrapper.__get__(self, None, owner)
            if vars(owner).get(self._self_core.attribute) is self:
                self._self_through_class[owner] = found
        return found

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        # Replaced per function by the generated hit path; this generic path serves
        # functions without a stable name and anything called on the base class directly.
        core: Core = self._self_core
        if core.is_async:
            return core.acall(None, args, kwargs)
        return core.call(None, args, kwargs)

    def cache_info(self) -> CacheInfo:
        """Hit and miss counts since decoration or the last ``cache_clear()``."""
        return self._self_core.stats.snapshot()

    def cache_clear(self) -> int:
        """Remove every entry this function stored, in every tier, by any process; reset counts."""
        return self._self_core.clear(None)

    def cache_key(self, *args: Any, **kwargs: Any) -> str:
        """The cache key a call with these arguments uses."""
        return self._self_core.key(*args, **kwargs)

    def invalidate(self, *args: Any, **kwargs: Any) -> int:
        """Drop the entry a call with these arguments would use."""
        return self._self_core.invalidate(None, args, kwargs)

    def refresh(self, *args: Any, **kwargs: Any) -> Any:
        """Call anew and store the result, even if a fresh one is cached."""
        return self._self_core.refresh(None, args, kwargs)

    def __reduce_ex__(self, protocol: Any) -> tuple[Any, ...]:
        # By reference, as pickle does for functions: the receiving process imports
        # the module and finds the same cached function there.
        func = self._self_core.func
        module, qualname = self._self_core.reachable_as or (
            getattr(func, "__module__", None),
            getattr(func, "__qualname__", ""),
        )
        if not module or "<locals>" in qualname:
            import pickle  # only for this error: pickle costs start-up time

            raise pickle.PicklingError(
                f"cannot pickle cached function {qualname or func!r}: only functions "
                "reachable by module and qualified name can be pickled (by reference)"
            )
        return (_by_qualified_name, (module, qualname))

    def __copy__(self) -> CachedFunction:
        return self

    def __deepcopy__(self, memo: Any) -> CachedFunction:
        return self
