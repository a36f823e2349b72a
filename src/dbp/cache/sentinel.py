"""The miss marker: a cached ``None`` is a value, so a miss needs its own object."""

from __future__ import annotations

import enum
from typing import Final, Literal

__all__ = ["MISS", "Miss"]


class Miss(enum.Enum):
    """Type of :data:`MISS`; an enum so ``x is MISS`` narrows types under mypy."""

    MISS = "MISS"

    def __repr__(self) -> str:
        return "MISS"

    def __bool__(self) -> Literal[False]:
        return False


MISS: Final = Miss.MISS
