"""A local stand-in for the Bedrock control plane, for tests and offline demos.

Standard library only: importing it never imports boto3. The server is in
:mod:`.server`, the data it serves (and its helpers) in :mod:`.catalogue` and :mod:`.targets`.
"""

from __future__ import annotations

from .catalogue import *  # noqa: F403 - the catalogue's public names, listed once there
from .catalogue import __all__ as _catalogue_names
from .server import FakeBedrockServer
from .targets import *  # noqa: F403 - the target builders, listed once there
from .targets import __all__ as _target_names

__all__ = ["FakeBedrockServer", *_catalogue_names, *_target_names]  # noqa: PLE0604
