"""``BedrockResolver``: what to invoke for model X from region R, and may my account use it?

[Intent]
Newer models are offered only through inference profiles: invoking them by model
id fails with ``ValidationException: Invocation of model ID ... with on-demand
throughput isn't supported``. Every caller otherwise hand-writes the mapping to a
``us.``/``eu.``/``apac.``/``global.`` profile; this answers it once, from cached data.

[Design principles]
- Built on the discovery classes and their caches (model lists, profile lists,
  model access, the account's targets): nothing new is cached, and a warm resolve
  makes no API call.
- Preference: on demand when the region supports it; else a system-defined
  profile available in the region that routes to the model, geographic before
  ``global.`` (``prefer="global"`` reverses that); the caller's application
  profile first with ``prefer="application"``, its InService provisioned
  throughput first with ``prefer="provisioned"``.
- The account's own targets (provisioned throughput, custom models, deployments,
  imported models, prompt routers, marketplace endpoints) resolve by name or ARN
  (rules in :mod:`.target_resolution`); one that is not usable is an error, never
  an invoke ID.
- Idempotent: a profile id or ARN resolves to that profile, so resolving a
  resolution's ``invoke_id`` gives the same resolution.
- A model with no route is a :class:`~.errors.ModelNotAvailableError` naming the
  regions that do offer it, never a ``KeyError``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from ..cache import LOGGER_NAME, DiscoveryCache
from .access import BedrockModelAccess, ModelAccess
from .base import ProgressCallback
from .data import model_id_from_arn, profile_model_ids
from .errors import ModelNotAvailableError, TargetNotUsableError
from .latency import RegionLatencyTracker
from .models import BedrockModelDiscovery
from .profiles import APPLICATION, SYSTEM_DEFINED, BedrockProfileDiscovery
from .resolution import (
    Prefer,
    Resolution,
    check_input,
    find_model,
    no_route_reason,
    rank_system_profiles,
)
from .resolution_builder import ResolutionBuilder
from .target_resolution import Route, find_target, kinds_for, route_of, routes_of
from .targets import BedrockTargetDiscovery

__all__ = ["BedrockResolver"]

logger = logging.getLogger(LOGGER_NAME)

Model = Mapping[str, Any]
#: Options that say where clients come from: only the first discovery object builds them.
_CLIENT_SOURCE = frozenset({"clients", "client_factory", "endpoint_url", "profile_name"})
_PROFILE_ARN_MARKERS = (":inference-profile/", ":application-inference-profile/")


class _NoRoute(Exception):
    """No way to invoke the model from the region (before naming the regions that have one)."""

    def __init__(self, model_id: str, reason: str) -> None:
        super().__init__(reason)
        self.model_id = model_id
        self.reason = reason


class BedrockResolver:
    """
    [Class intent]
    Resolve a model id, foundation-model ARN, inference-profile id or ARN, or the
    name or ARN of one of the account's targets, to the id to invoke from a
    region, with its route, lifecycle and the account's access.

    [Implementation details]
    Takes the :class:`~.base.DiscoveryBase` options (``session``, ``endpoint_url``,
    ``cache``, ``regions`` ...) plus ``account_id`` and ``include_application``;
    its four discovery objects (``models``, ``profiles``, ``access``, ``targets``) share one
    set of clients, cache and latency tracker. Example::

        resolver = BedrockResolver(boto3.Session())
        resolver.resolve("anthropic.claude-3-5-sonnet-20241022-v2:0", "us-east-1").invoke_id
        # 'us.anthropic.claude-3-5-sonnet-20241022-v2:0'
    """

    def __init__(
        self, session: Any = None, *, account_id: str | None = None, **options: Any
    ) -> None:
        include_application = bool(options.pop("include_application", True))
        self.models = BedrockModelDiscovery(session, **options)
        shared = {k: v for k, v in options.items() if k not in _CLIENT_SOURCE}
        shared.update(
            clients=self.models.clients,
            cache=self.models.cache,
            latency=self.models.latency,
            retry=self.models.retry,
        )
        self.profiles = BedrockProfileDiscovery(
            account_id=account_id, include_application=include_application, **shared
        )
        self.access = BedrockModelAccess(account_id=account_id, **shared)
        self.targets = BedrockTargetDiscovery(account_id=account_id, **shared)
        self._build = ResolutionBuilder(self.access, self.targets)

    @property
    def cache(self) -> DiscoveryCache:
        return self.models.cache

    @property
    def latency(self) -> RegionLatencyTracker:
        return self.models.latency

    @property
    def api_calls(self) -> int:
        """AWS requests made by this resolver's discovery objects (0 on a warm resolve)."""
        parts = (self.models, self.profiles, self.access, self.targets)
        return sum(part.api_calls for part in parts)

    # -- one region -------------------------------------------------------------------
    def resolve(
        self, model: str, region: str, *, prefer: Prefer = "geo", refresh: bool = False
    ) -> Resolution:
        """
        [Method intent]
        The :class:`Resolution` for ``model`` invoked from ``region``.

        [Implementation details]
        Raises :class:`~.errors.ModelNotAvailableError` (naming the regions that
        offer the model, from a cached scan of the candidate regions) when there
        is no route, :class:`~.errors.TargetNotUsableError` when the account's
        target exists but is not usable (Creating, Failed ...), and
        :class:`~.errors.RegionUnavailableError` when the region itself is not
        usable. A LEGACY model resolves, with a warning naming its end-of-life
        date. ``refresh=True`` asks AWS again for everything it uses.
        """
        check_input(model, region, prefer)
        try:
            return self._resolve(model, region, prefer, refresh)
        except _NoRoute as no_route:
            offered = [r for r in self._offering(no_route.model_id) if r != region]
            raise ModelNotAvailableError(model, region, no_route.reason, offered) from None

    def check_access(self, model: str, region: str, *, refresh: bool = False) -> ModelAccess:
        """May the account use ``model`` (any form :meth:`resolve` takes) in ``region``?"""
        check_input(model, region, "geo")
        model_id = model_id_from_arn(model)
        if model_id is None:
            listed = self.models.list_models(region, refresh=refresh, skip_unavailable=False)
            profile = None if find_model(listed, model) else self._find_profile(model, region)
            found = profile_model_ids(profile) if profile is not None else []
            model_id = found[0] if found else model
        return self.access.check(model_id, region, refresh=refresh)

    # -- every region -----------------------------------------------------------------
    def resolve_all(
        self,
        model: str,
        regions: Iterable[str] | None = None,
        *,
        prefer: Prefer = "geo",
        invocable_only: bool = True,
        max_workers: int | None = None,
        progress: ProgressCallback | None = None,
        refresh: bool = False,
    ) -> list[Resolution]:
        """
        [Method intent]
        Every region (of ``regions``, default the candidate regions) from which
        ``model`` can be invoked, fastest first by the latency tracker.

        [Implementation details]
        Regions are resolved concurrently like a scan; unavailable or failing
        regions are left out with a warning. ``invocable_only=False`` keeps the
        regions whose route exists but where the account is denied access.
        """
        check_input(model, "all", prefer)

        def per_region(region: str) -> Resolution | None:
            try:
                return self._resolve(model, region, prefer, refresh)
            except _NoRoute:
                return None

        self.access.account_id()  # once, before the workers start (else each asks STS)
        if self.profiles.include_application:
            self.profiles.account_id()
        found = self.models.scan_regions(
            regions, per_region, max_workers=max_workers, progress=progress, on_error="skip"
        )
        kept = {
            region: result
            for region, result in found.items()
            if result is not None and (result.invocable or not invocable_only)
        }
        return [kept[region] for region in self.latency.order(kept)]

    def clear_cache(self) -> int:
        """Remove the model lists, profile lists and access answers these classes stored."""
        parts = (self.models, self.profiles, self.access, self.targets)
        return sum(part.clear_cache() for part in parts)

    # -- internals --------------------------------------------------------------------
    def _resolve(self, model: str, region: str, prefer: Prefer, refresh: bool) -> Resolution:
        listed = self.models.list_models(region, refresh=refresh, skip_unavailable=False)
        if refresh:  # once per resolve: later lookups read what this stored
            self.profiles.list_profiles(region, refresh=True, skip_unavailable=False)
        arn_model = model_id_from_arn(model)
        entry = find_model(listed, arn_model or model)
        if entry is None and arn_model is None:
            profile = self._find_profile(model, region)
            if profile is not None:
                ids = profile_model_ids(profile)
                model_id = ids[0] if ids else str(profile["inferenceProfileId"])
                found = find_model(listed, model_id)
                return self._build.model(model_id, region, found, profile, refresh)
            if any(marker in model for marker in _PROFILE_ARN_MARKERS):
                raise _NoRoute(model, "no inference profile by that ARN there")
            kinds = kinds_for(model)
            if kinds is not None:
                found_target = self._build.own_target(model, region, kinds, listed, refresh)
                if found_target is not None:
                    return found_target
        model_id = str(entry["modelId"]) if entry is not None else (arn_model or model)
        types = (entry or {}).get("inferenceTypesSupported") or []
        if prefer == "provisioned":
            bought = self._build.provisioned(model_id, region, entry, refresh)
            if bought is not None:
                return bought
        if prefer == "application":
            mine = self.profiles.list_profiles(
                region, model=model_id, profile_type=APPLICATION, skip_unavailable=False
            )
            active = sorted(
                (p for p in mine if p.get("status", "ACTIVE") == "ACTIVE"),
                key=lambda p: str(p.get("inferenceProfileName", "")),
            )
            if active:
                return self._build.model(model_id, region, entry, active[0], refresh)
        if "ON_DEMAND" in types:
            return self._build.model(model_id, region, entry, None, refresh)
        system = self.profiles.list_profiles(
            region, model=model_id, profile_type=SYSTEM_DEFINED, skip_unavailable=False
        )
        ranked = rank_system_profiles(system, prefer)
        if ranked:
            return self._build.model(model_id, region, entry, ranked[0], refresh)
        raise _NoRoute(model_id, no_route_reason(entry))

    def all_targets(self, model: str, region: str, *, refresh: bool = False) -> list[Route]:
        """
        [Method intent]
        Every way the account can invoke ``model`` (any form :meth:`resolve` takes)
        in ``region``: on demand, each inference profile routing it, each
        provisioned throughput (and, for a custom model, each deployment); usable
        or not, with their states. ``[]`` when there is none.

        [Implementation details]
        A provisioned throughput or deployment stands for the model behind it; a
        router, imported model or marketplace endpoint for itself alone.
        """
        check_input(model, region, "geo")
        try:
            res: Resolution | None = self.resolve(model, region, refresh=refresh)
        except (ModelNotAvailableError, TargetNotUsableError):
            res = None
        kinds = kinds_for(model) if res is None or res.target_kind is not None else None
        targets = self.targets.list_targets(region, kinds) if kinds else []
        target = find_target(model, targets)
        if target is not None and target.kind not in ("custom", "provisioned", "deployment"):
            return [route_of(target)]
        if target is not None:
            wanted = target.arn if target.kind == "custom" else str(target.model)
            wanted = model_id_from_arn(wanted) or wanted
        else:
            wanted = res.model_id if res is not None else (model_id_from_arn(model) or model)
        listed = self.models.list_models(region, skip_unavailable=False)
        entry = find_model(listed, wanted)
        profiles = [] if entry is None else self.profiles.list_profiles(region, model=wanted)
        owned = self.targets.list_targets(region, ["deployment", "provisioned"])
        return routes_of(wanted, entry, profiles, owned)

    def _find_profile(self, wanted: str, region: str) -> Mapping[str, Any] | None:
        """The region's profile with this id or ARN (a system ARN may name another region)."""
        ids = {wanted}
        if ":inference-profile/" in wanted:
            ids.add(wanted.rsplit("/", 1)[-1])
        for profile in self.profiles.list_profiles(region, skip_unavailable=False):
            if profile.get("inferenceProfileId") in ids:
                return profile
            if profile.get("inferenceProfileArn") == wanted:
                return profile
        return None

    def _offering(self, model_id: str) -> list[str]:
        """Regions whose (cached) listing offers ``model_id`` on demand or by profile."""
        found = self.models.scan(on_error="skip")
        invocable = {"ON_DEMAND", "INFERENCE_PROFILE"}
        return self.latency.order(
            region
            for region, models in found.items()
            if (m := find_model(models, model_id)) is not None
            and invocable & set(m.get("inferenceTypesSupported") or [])
        )
