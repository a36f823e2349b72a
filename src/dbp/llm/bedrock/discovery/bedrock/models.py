"""``BedrockModelDiscovery``: which foundation models exist in which region, cached.

[Intent]
``ListFoundationModels`` is slow and rate-limited, and its answer changes a few
times a month. One call per region per cache lifetime answers every question:
list (with filters), get one model, which regions offer a model, scan regions.

[Design principles]
- The cache holds each region's full, unfiltered model list under the seed's key
  ``bedrock_models:<region>`` (so ``DiscoveryCache.get_model_cache(region)`` reads
  it); filters are applied locally, so every filter combination shares one call.
- Values are what boto3 returns (``ResponseMetadata`` dropped): timestamps are
  tz-aware datetimes from either tier, unknown enum values pass through untouched.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from dbp.cache.decorator import discovery_cached

from ..cache import LOGGER_NAME
from .base import MAX_STALE, DiscoveryBase, OnError, ProgressCallback
from .errors import RegionUnavailableError, is_transient
from .keys import MODEL_KEY, template
from .vocabulary import CUSTOMIZATIONS, INFERENCE_TYPES, LIFECYCLES, MODALITIES, check_value

__all__ = ["BedrockModelDiscovery", "inference_access", "requires_inference_profile"]

logger = logging.getLogger(LOGGER_NAME)

Model = dict[str, Any]


def requires_inference_profile(model: Mapping[str, Any]) -> bool:
    """True when ``model`` can only be invoked through an inference profile.

    Bedrock lists such models with ``INFERENCE_PROFILE`` (a value botocore's enum
    does not know) and without ``ON_DEMAND``/``PROVISIONED``.
    """
    types = model.get("inferenceTypesSupported") or []
    return "INFERENCE_PROFILE" in types and not {"ON_DEMAND", "PROVISIONED"} & set(types)


def inference_access(model: Mapping[str, Any]) -> str:
    """A short human label: ``profile-only``, or the supported inference types."""
    if requires_inference_profile(model):
        return "profile-only"
    types = model.get("inferenceTypesSupported") or []
    return ",".join(str(t) for t in types) or "-"


#: ``(argument, summary field, accepted values)`` of the list filters.
_LIST_FILTERS = (
    ("customization_type", "customizationsSupported", CUSTOMIZATIONS),
    ("output_modality", "outputModalities", MODALITIES),
    ("input_modality", "inputModalities", MODALITIES),
    ("inference_type", "inferenceTypesSupported", INFERENCE_TYPES),
)


def check_filters(**filters: Any) -> dict[str, Any]:
    """The filters that are set, each value checked against what Bedrock accepts."""
    for name, _, accepted in _LIST_FILTERS:
        check_value(name, filters.get(name), accepted)
    check_value("lifecycle", filters.get("lifecycle"), LIFECYCLES)
    streaming = filters.get("streaming")
    if streaming is not None and not isinstance(streaming, bool):
        raise ValueError(f"streaming must be True, False or None, not {streaming!r}")
    return {k: v for k, v in filters.items() if v is not None}


def _matches(model: Mapping[str, Any], filters: Mapping[str, Any]) -> bool:
    """The service's filters (and a few more), applied locally.

    Provider names compare case-insensitively; list fields must contain the value.
    """
    provider = filters.get("provider")
    if provider is not None and str(model.get("providerName", "")).lower() != provider.lower():
        return False
    for name, field, _ in _LIST_FILTERS:
        if name in filters and filters[name] not in (model.get(field) or []):
            return False
    lifecycle = model.get("modelLifecycle")
    status = lifecycle.get("status") if isinstance(lifecycle, Mapping) else None
    if "lifecycle" in filters and status != filters["lifecycle"]:
        return False
    streams = bool(model.get("responseStreamingSupported"))
    return "streaming" not in filters or streams == filters["streaming"]


class BedrockModelDiscovery(DiscoveryBase):
    """
    [Class intent]
    Discover Bedrock foundation models per region with one cached
    ``ListFoundationModels`` call per region and cache lifetime.

    [Design principles]
    - Per-region isolation: an account without access to a region (403
      ``AccessDeniedException``, opt-in region not enabled) gets an empty or absent
      result for it and a warning, never a failed scan. That answer is remembered
      for a few hours per set of credentials, so warm scans make no calls.
    - Throttling is retried with backoff; when retries run out and an older cached
      list exists (up to 7 days past expiry) it is served with a warning;
      otherwise :class:`~.errors.BedrockDiscoveryError` names the region.

    [Implementation details]
    See :class:`~.base.DiscoveryBase` for the constructor. ``api_calls`` counts
    the requests this object made. Example::

        discovery = BedrockModelDiscovery(boto3.Session(), regions=["us-east-1", "eu-west-1"])
        discovery.list_models("us-east-1", provider="Anthropic")
        discovery.find_model_regions("anthropic.claude-3-haiku-20240307-v1:0")
    """

    MODEL_KEY = MODEL_KEY

    # -- single region -------------------------------------------------------------
    def list_models(
        self,
        region: str,
        *,
        provider: str | None = None,
        customization_type: str | None = None,
        output_modality: str | None = None,
        inference_type: str | None = None,
        input_modality: str | None = None,
        streaming: bool | None = None,
        lifecycle: str | None = None,
        refresh: bool = False,
        skip_unavailable: bool = True,
    ) -> list[Model]:
        """
        [Method intent]
        Foundation models offered in ``region``, optionally filtered like the
        service's ``byProvider``/``byCustomizationType``/``byOutputModality``/
        ``byInferenceType`` parameters, and by input modality, response streaming
        and lifecycle status (``ACTIVE``/``LEGACY``).

        [Implementation details]
        A filter value Bedrock does not know is a ``ValueError`` naming the
        accepted ones (:mod:`.vocabulary`). ``refresh=True`` calls AWS and replaces
        the cached list. With ``skip_unavailable=False`` an unavailable region
        raises :class:`~.errors.RegionUnavailableError` instead of returning ``[]``.
        """
        filters = check_filters(
            provider=provider,
            customization_type=customization_type,
            output_modality=output_modality,
            inference_type=inference_type,
            input_modality=input_modality,
            streaming=streaming,
            lifecycle=lifecycle,
        )
        try:
            models = self._region_models(region, refresh)
        except RegionUnavailableError as exc:
            if not skip_unavailable:
                raise
            logger.warning("%s; treating it as offering no models", exc)
            return []
        return [m for m in models if _matches(m, filters)] if filters else list(models)

    def get_model(self, model_id: str, region: str, *, refresh: bool = False) -> Model | None:
        """
        [Method intent]
        One model (by id or ARN) as listed in ``region``, or ``None`` if not offered.

        [Implementation details]
        Answered from the cached region list; an id the list does not hold (a
        versioned ARN, a model being retired) is asked of ``GetFoundationModel``,
        uncached, and ``None`` on ``ResourceNotFoundException``/``ValidationException``.
        """
        for model in self.list_models(region, refresh=refresh, skip_unavailable=False):
            if model_id in (model.get("modelId"), model.get("modelArn")):
                return model
        response, _not_found = self.call_answering(
            region,
            "GetFoundationModel",
            lambda client: client.get_foundation_model(modelIdentifier=model_id),
            ("ResourceNotFoundException", "ValidationException"),
        )
        if response is None:
            return None
        details: Model = response["modelDetails"]
        return details

    # -- many regions -----------------------------------------------------------------
    def scan(
        self,
        regions: Iterable[str] | None = None,
        *,
        max_workers: int | None = None,
        progress: ProgressCallback | None = None,
        on_error: OnError = "raise",
        refresh: bool = False,
    ) -> dict[str, list[Model]]:
        """
        [Method intent]
        ``{region: models}`` for many regions, fetched concurrently (bounded pool).

        [Implementation details]
        Unavailable regions are absent (warned about). Other failures: with
        ``on_error="raise"`` the first is raised after the scan finishes (cached
        regions stay cached); ``"skip"`` leaves the region out with a warning.
        """
        return self.scan_regions(
            regions,
            lambda region: self.list_models(region, refresh=refresh, skip_unavailable=False),
            max_workers=max_workers,
            progress=progress,
            on_error=on_error,
        )

    def find_model_regions(
        self,
        model_id: str,
        regions: Iterable[str] | None = None,
        *,
        max_workers: int | None = None,
        progress: ProgressCallback | None = None,
        on_error: OnError = "skip",
        refresh: bool = False,
    ) -> list[str]:
        """
        [Method intent]
        Regions offering ``model_id`` (id or ARN), fastest first.

        [Implementation details]
        Ordered by :class:`~.latency.RegionLatencyTracker` (unmeasured regions
        last). Includes regions where the model is reachable only through an
        inference profile; check :func:`requires_inference_profile` on the model.
        Failed regions are skipped with a warning unless ``on_error="raise"``.
        """
        found = self.scan(
            regions,
            max_workers=max_workers,
            progress=progress,
            on_error=on_error,
            refresh=refresh,
        )
        offering = [
            region
            for region, models in found.items()
            if any(model_id in (m.get("modelId"), m.get("modelArn")) for m in models)
        ]
        return self.latency.order(offering)

    def clear_cache(self) -> int:
        """Remove the model lists this class stored (any region, any process).

        Other entries (profiles, latency, other functions' data) are kept.
        """
        removed: int = self._cached_models.cache_clear()
        return removed

    # -- cache plumbing -----------------------------------------------------------------
    def _region_models(self, region: str, refresh: bool) -> list[Model]:
        self.remembered_unavailable(region, "ListFoundationModels", refresh)
        try:
            return self.through_cache(
                self._cached_models, lambda: self._fetch_models(region), region, refresh=refresh
            )
        except RegionUnavailableError as exc:
            self.remember_unavailable(exc)
            raise

    @discovery_cached(
        template(MODEL_KEY),
        cache=lambda self: self.cache,
        serve_stale_on_error=is_transient,
        max_stale=MAX_STALE,
    )
    def _cached_models(self, region: str) -> list[Model]:
        return self._fetch_models(region)

    def _fetch_models(self, region: str) -> list[Model]:
        response = self.call(
            region, "ListFoundationModels", lambda client: client.list_foundation_models()
        )
        models: list[Model] = response.get("modelSummaries", [])
        return models
