"""A local stand-in for the Bedrock control plane, for tests and offline demos.

Standard library only: importing it never imports boto3. The server is in
:mod:`.server`, the data it serves in :mod:`.catalogue`.
"""

from __future__ import annotations

from .catalogue import (
    DEFAULT_ACCOUNT,
    LEGACY_END_OF_LIFE,
    RegionCatalog,
    application_profile,
    default_catalog,
    foundation_model,
    model_availability,
    system_profile,
)
from .server import FakeBedrockServer

__all__ = [
    "DEFAULT_ACCOUNT",
    "LEGACY_END_OF_LIFE",
    "FakeBedrockServer",
    "RegionCatalog",
    "application_profile",
    "default_catalog",
    "foundation_model",
    "model_availability",
    "system_profile",
]
