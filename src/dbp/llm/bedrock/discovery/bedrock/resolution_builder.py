"""``ResolutionBuilder``: a :class:`~.resolution.Resolution` from what the resolver found.

[Intent]
The resolver decides *which* route to take; building the answer (lifecycle,
LEGACY warning once, the account's access, target fields) is the same for every
route and lives here, keeping the resolver's decision logic short.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any

from ..cache import LOGGER_NAME
from .access import BedrockModelAccess
from .data import model_id_from_arn, profile_regions
from .resolution import Resolution, find_model, invoke_id_of, legacy_warning, lifecycle_of
from .target_kinds import Target
from .target_resolution import choose_target, provisioned_for, resolution_of
from .targets import BedrockTargetDiscovery

__all__ = ["ResolutionBuilder"]

logger = logging.getLogger(LOGGER_NAME)

Model = Mapping[str, Any]


class ResolutionBuilder:
    """Builds resolutions for one resolver: its access checks, targets and warnings."""

    def __init__(self, access: BedrockModelAccess, targets: BedrockTargetDiscovery) -> None:
        self.access = access
        self.targets = targets
        self._warned: set[str] = set()
        self._lock = threading.Lock()

    def provisioned(
        self, model_id: str, region: str, entry: Model | None, refresh: bool
    ) -> Resolution | None:
        """The account's InService provisioned throughput for a foundation model, if any."""
        owned = self.targets.list_targets(region, ["provisioned"], refresh=refresh)
        bought = [t for t in provisioned_for(model_id, owned) if t.state == "InService"]
        return self.target(bought[0], model_id, entry, refresh) if bought else None

    def own_target(
        self,
        wanted: str,
        region: str,
        kinds: tuple[str, ...],
        listed: list[dict[str, Any]],
        refresh: bool,
    ) -> Resolution | None:
        """The resolution of one of the account's targets, ``None`` if none has that name."""
        targets = self.targets.list_targets(region, kinds, refresh=refresh, skip_unavailable=False)
        found = choose_target(wanted, region, targets)
        if found is None:
            return None
        behind = model_id_from_arn(found.model or "")
        entry = find_model(listed, behind) if behind else None
        return self.target(found, behind, entry, refresh)

    def target(
        self, target: Target, model_id: str | None, entry: Model | None, refresh: bool
    ) -> Resolution:
        """A target's resolution; one serving a foundation model has its access and lifecycle."""
        if model_id is None or target.kind != "provisioned":
            return resolution_of(target)
        status, end_of_life = lifecycle_of(entry)
        warnings = [legacy_warning(model_id, end_of_life)] if status == "LEGACY" else []
        for warning in warnings:
            self.warn_once(warning)
        return resolution_of(
            target,
            model_id=model_id,
            lifecycle=(status, end_of_life),
            access=self.access.check(model_id, target.region, refresh=refresh),
            warnings=warnings,
        )

    def model(
        self,
        model_id: str,
        region: str,
        entry: Model | None,
        profile: Mapping[str, Any] | None,
        refresh: bool,
    ) -> Resolution:
        status, end_of_life = lifecycle_of(entry)
        warnings = []
        if status == "LEGACY":
            warnings.append(legacy_warning(model_id, end_of_life))
            self.warn_once(warnings[-1])
        access = self.access.check(model_id, region, refresh=refresh)
        if access.status == "unknown":  # the access object has warned already
            warnings.append(f"access unknown: {access.reason}")
        if profile is None:
            return Resolution(
                model_id=model_id,
                region=region,
                invoke_id=model_id,
                method="on-demand",
                routes_to=(region,),
                lifecycle=status,
                end_of_life=end_of_life,
                access=access,
                warnings=tuple(warnings),
            )
        return Resolution(
            model_id=model_id,
            region=region,
            invoke_id=invoke_id_of(profile),
            method="inference-profile",
            routes_to=tuple(profile_regions(profile)) or (region,),
            lifecycle=status,
            end_of_life=end_of_life,
            access=access,
            profile_id=str(profile.get("inferenceProfileId")),
            profile_arn=profile.get("inferenceProfileArn"),
            profile_type=profile.get("type"),
            warnings=tuple(warnings),
        )

    def warn_once(self, text: str) -> None:
        with self._lock:
            first = text not in self._warned
            self._warned.add(text)
        logger.log(logging.WARNING if first else logging.DEBUG, "%s", text)
