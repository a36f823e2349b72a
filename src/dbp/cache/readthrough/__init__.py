"""The one read-through path: look up, join the flight, lock tier by tier, call, write."""

from __future__ import annotations

from .path import ReadThrough
from .steps import Found, Policy, refresh_start

__all__ = ["Found", "Policy", "ReadThrough", "refresh_start"]
