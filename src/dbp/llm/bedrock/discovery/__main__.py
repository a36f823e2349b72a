"""``python -m dbp.llm.bedrock.discovery``: the ``dbp-discovery`` command line."""

from __future__ import annotations

import sys

from .cli import main

sys.exit(main())
