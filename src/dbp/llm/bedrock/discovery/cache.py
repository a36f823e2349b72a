"""``DiscoveryCache``: the tiered cache with the original plan's Bedrock helpers.

This is the module the original plan named (``dbp.llm.bedrock.discovery.cache``).
The tiers, locks and read-through path are the generic engine in :mod:`dbp.cache`;
this class adds the seed's specialised API (``get_model_cache`` ...) and logs to
the ``dbp.llm.bedrock.discovery`` logger.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from dbp.cache import defaults
from dbp.cache.tiered import TieredCache

from .bedrock.data import profile_routes_model
from .bedrock.keys import MODEL_KEY, PROFILE_KEY

__all__ = [
    "ENV_REDIS_IAM",
    "LOGGER_NAME",
    "DiscoveryCache",
    "default_cache",
    "iam_provider",
    "set_default_cache",
]

#: Where the discovery cache and the Bedrock layer log.
LOGGER_NAME = "dbp.llm.bedrock.discovery"


class DiscoveryCache(TieredCache):
    """
    [Class intent]
    Thread-safe, process-shared cache for discovery results (which Bedrock models
    and inference profiles exist where), so slow, rate-limited control-plane calls
    are made once per TTL instead of once per process start.

    [Design principles]
    Everything generic (tiers, TTLs, locks, faults) is :class:`~dbp.cache.TieredCache`;
    this class only knows the Bedrock key formats (:mod:`.bedrock.keys`).

    [Implementation details]
    See :class:`~dbp.cache.TieredCache` for the constructor's arguments; the
    default logger is ``dbp.llm.bedrock.discovery``.
    """

    DEFAULT_LOGGER_NAME = LOGGER_NAME

    def get_model_cache(self, region: str) -> Any:
        """Cached ``ListFoundationModels`` data for ``region``, or ``None``."""
        return self.get(MODEL_KEY.format(region=region))

    def set_model_cache(self, region: str, models_data: Any) -> None:
        """Cache ``ListFoundationModels`` data for ``region`` with the default TTLs."""
        self.set(MODEL_KEY.format(region=region), models_data)

    def get_profile_cache(self, region: str, model_id: str | None = None) -> Any:
        """
        [Method intent]
        Cached inference profiles for ``region``, optionally only those routing
        to ``model_id``; ``None`` when nothing is cached.

        [Implementation details]
        A profile matches when one of its ``models[].modelArn`` names the model
        (by id or full ARN), or, for hand-made data, its ``modelId`` equals it.
        """
        profiles = self.get(PROFILE_KEY.format(region=region))
        if profiles is None or model_id is None:
            return profiles
        if isinstance(profiles, dict):  # a raw ListInferenceProfiles response
            profiles = profiles.get("inferenceProfileSummaries", [])
        return [p for p in profiles if profile_routes_model(p, model_id)]

    def set_profile_cache(self, region: str, profiles_data: Any) -> None:
        """Cache inference-profile data for ``region`` with the default TTLs."""
        self.set(PROFILE_KEY.format(region=region), profiles_data)


#: ElastiCache/MemoryDB IAM auth for the default cache and the CLI, in the syntax of
#: :meth:`dbp.aws.ElastiCacheIAM.from_spec` (``user_id=app,cache_name=my-cache,...``).
ENV_REDIS_IAM = "DBP_REDIS_IAM"


def iam_provider(spec: str, source: str) -> Any:
    """``ElastiCacheIAM.from_spec(spec)``; a bad spec's ``ValueError`` names ``source``."""
    from dbp.aws import ElastiCacheIAM

    try:
        return ElastiCacheIAM.from_spec(spec)
    except ValueError as exc:
        raise ValueError(f"{source}: {exc}") from None


class _DefaultDiscoveryCache:
    """Builds the default cache; with ``$DBP_REDIS_IAM`` its Redis tier signs in with IAM.

    A bad ``$DBP_REDIS_IAM`` is warned about once and the cache runs without the
    Redis tier (it could not sign in), instead of failing every call.
    """

    DEFAULT_LOGGER_NAME = LOGGER_NAME  # where the environment's problems are told

    def __call__(self, **options: Any) -> DiscoveryCache:
        spec = os.environ.get(ENV_REDIS_IAM)
        if spec and options.get("redis_url"):
            try:
                options["redis_credential_provider"] = iam_provider(spec, f"${ENV_REDIS_IAM}")
            except ValueError as exc:
                logging.getLogger(LOGGER_NAME).warning(
                    "dbp cache: %s; running without the Redis tier", exc
                )
                options.pop("redis_url")
        return DiscoveryCache(**options)


def default_cache() -> DiscoveryCache:
    """The process-wide cache used by ``@discovery_cached`` without ``cache=``."""
    cache = defaults.default_cache()
    if not isinstance(cache, DiscoveryCache):  # set by set_default_cache to a plain one
        raise TypeError(f"the default cache is a {type(cache).__name__}, not a DiscoveryCache")
    return cache


def set_default_cache(cache: TieredCache | None) -> None:
    """Replace the process-wide default cache (``None``: build a new one on next use)."""
    defaults.set_default_cache(cache)
