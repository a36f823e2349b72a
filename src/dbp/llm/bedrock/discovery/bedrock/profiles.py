"""``BedrockProfileDiscovery``: inference profiles per region, cached, account-safe.

[Intent]
Many models are invocable only through an inference profile, and a profile routes
to several destination regions. Finding "the profile for model M" and "where does
profile P send requests" must not cost a paginated listing every time.

[Design principles]
- ``SYSTEM_DEFINED`` profiles are the same catalogue for every account: they are
  cached under the seed's key ``bedrock_profiles:<region>``.
- ``APPLICATION`` profiles belong to one account: they are cached under
  ``bedrock_profiles:<region>:account:<account id>``, so two accounts sharing a
  cache folder never see each other's. The account id comes from the
  ``account_id`` argument or STS ``GetCallerIdentity`` (cached per access key);
  when it cannot be known, application profiles are fetched but never cached.
- System profile ARNs carry the caller's account id; when the caller's account is
  known, ARNs read from the shared cache are rewritten to it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from dbp.cache.decorator import discovery_cached

from ..cache import LOGGER_NAME
from .account import AccountScoped
from .base import MAX_STALE, OnError, ProgressCallback
from .data import profile_model_ids, profile_regions, profile_routes_model
from .errors import RegionUnavailableError, is_transient
from .keys import APPLICATION_PROFILE_KEY, PROFILE_KEY, template

__all__ = ["BedrockProfileDiscovery"]

logger = logging.getLogger(LOGGER_NAME)

Profile = dict[str, Any]
SYSTEM_DEFINED = "SYSTEM_DEFINED"
APPLICATION = "APPLICATION"


class BedrockProfileDiscovery(AccountScoped):
    """
    [Class intent]
    Discover Bedrock inference profiles per region (all pages), find the profiles
    that route a model, and the regions a profile routes to.

    [Design principles]
    Same error policy as :class:`~.models.BedrockModelDiscovery`: unavailable
    regions are empty/absent with a warning; throttling is retried, then served
    stale if a cached listing exists.

    [Implementation details]
    Takes the :class:`~.base.DiscoveryBase` options plus ``account_id`` (skips
    the STS call) and ``include_application`` (``False``: never list
    application profiles). A cold region costs one paginated listing per type.
    """

    PROFILE_KEY = PROFILE_KEY
    APPLICATION_KEY = APPLICATION_PROFILE_KEY
    ACCOUNT_CONSEQUENCE = "application inference profiles will not be cached"

    def __init__(
        self,
        session: Any = None,
        *,
        account_id: str | None = None,
        include_application: bool = True,
        **options: Any,
    ) -> None:
        super().__init__(session, account_id=account_id, **options)
        self.include_application = include_application

    # -- single region ----------------------------------------------------------------
    def list_profiles(
        self,
        region: str,
        *,
        model: str | None = None,
        profile_type: str | None = None,
        refresh: bool = False,
        skip_unavailable: bool = True,
    ) -> list[Profile]:
        """
        [Method intent]
        Inference profiles of ``region``: system-defined first, then this account's
        application profiles; only those routing ``model`` (id or ARN) if given.

        [Implementation details]
        ``profile_type`` is ``"SYSTEM_DEFINED"`` or ``"APPLICATION"`` (default both).
        ``refresh=True`` lists anew and replaces the cached pages.
        """
        if profile_type not in (None, SYSTEM_DEFINED, APPLICATION):
            raise ValueError(
                f"profile_type must be {SYSTEM_DEFINED!r} or {APPLICATION!r}, not {profile_type!r}"
            )
        try:
            profiles = self._region_profiles(region, profile_type, refresh)
        except RegionUnavailableError as exc:
            if not skip_unavailable:
                raise
            logger.warning("%s; treating it as having no inference profiles", exc)
            return []
        if model is not None:
            profiles = [p for p in profiles if profile_routes_model(p, model)]
        return profiles

    def profiles_for_model(
        self, model: str, region: str, *, refresh: bool = False
    ) -> list[Profile]:
        """Profiles in ``region`` that route ``model`` (matching ``models[].modelArn``)."""
        return self.list_profiles(region, model=model, refresh=refresh)

    def get_profile(self, profile: str, region: str, *, refresh: bool = False) -> Profile | None:
        """One profile by id or ARN, from the cached listing; ``None`` if unknown."""
        for found in self.list_profiles(region, refresh=refresh, skip_unavailable=False):
            if profile in (found.get("inferenceProfileId"), found.get("inferenceProfileArn")):
                return found
        return None

    def profile_regions(self, profile: str | Mapping[str, Any], region: str) -> list[str]:
        """Destination regions ``profile`` (a profile dict, id or ARN) routes to, sorted."""
        if isinstance(profile, Mapping):
            return profile_regions(profile)
        found = self.get_profile(profile, region)
        if found is None:
            raise LookupError(f"{region}: no inference profile {profile!r}")
        return profile_regions(found)

    @staticmethod
    def profile_models(profile: Mapping[str, Any]) -> list[str]:
        """Model ids a profile routes to, in order of first appearance."""
        return profile_model_ids(profile)

    # -- many regions -------------------------------------------------------------------
    def scan(
        self,
        regions: Iterable[str] | None = None,
        *,
        model: str | None = None,
        max_workers: int | None = None,
        progress: ProgressCallback | None = None,
        on_error: OnError = "raise",
        refresh: bool = False,
    ) -> dict[str, list[Profile]]:
        """``{region: profiles}`` for many regions, concurrently (like the model scan)."""
        if self.include_application and not self._account_known:
            self.account_id()  # once, before the workers start
        return self.scan_regions(
            regions,
            lambda region: self.list_profiles(
                region, model=model, refresh=refresh, skip_unavailable=False
            ),
            max_workers=max_workers,
            progress=progress,
            on_error=on_error,
        )

    def clear_cache(self) -> int:
        """Remove the profile listings this class stored (every region and account)."""
        removed: int = self._cached_system.cache_clear() + self._cached_application.cache_clear()
        return removed

    # -- cache plumbing -----------------------------------------------------------------
    def _region_profiles(
        self, region: str, profile_type: str | None, refresh: bool
    ) -> list[Profile]:
        self.remembered_unavailable(region, "ListInferenceProfiles", refresh)
        try:
            profiles: list[Profile] = []
            # The STS lookup is only worth it when application profiles are wanted.
            if self.include_application:
                account = self.account_id(region)
            else:
                account = self._account_id if self._account_known else None
            if profile_type in (None, SYSTEM_DEFINED):
                system = self.through_cache(
                    self._cached_system,
                    lambda: self._fetch_profiles(region, SYSTEM_DEFINED),
                    region,
                    refresh=refresh,
                )
                profiles += _for_account(system, account)
            if profile_type in (None, APPLICATION) and self.include_application:
                profiles += self._application_profiles(region, account, refresh)
            return profiles
        except RegionUnavailableError as exc:
            self.remember_unavailable(exc)
            raise

    def _application_profiles(
        self, region: str, account: str | None, refresh: bool
    ) -> list[Profile]:
        if account is None:  # unknown owner: correct but uncached
            return self._fetch_profiles(region, APPLICATION)
        found = self.through_cache(
            self._cached_application,
            lambda: self._fetch_profiles(region, APPLICATION),
            region,
            account,
            refresh=refresh,
        )
        # Defence in depth: never hand out another account's profile.
        return [p for p in found if _arn_account(p) in (account, None)]

    @discovery_cached(
        template(PROFILE_KEY),
        cache=lambda self: self.cache,
        serve_stale_on_error=is_transient,
        max_stale=MAX_STALE,
    )
    def _cached_system(self, region: str) -> list[Profile]:
        return self._fetch_profiles(region, SYSTEM_DEFINED)

    @discovery_cached(
        template(APPLICATION_PROFILE_KEY),
        cache=lambda self: self.cache,
        serve_stale_on_error=is_transient,
        max_stale=MAX_STALE,
    )
    def _cached_application(self, region: str, account: str) -> list[Profile]:
        return self._fetch_profiles(region, APPLICATION)

    def _fetch_profiles(self, region: str, profile_type: str) -> list[Profile]:
        """Every page of ``ListInferenceProfiles`` for one type."""
        return self.fetch_pages(
            region,
            "ListInferenceProfiles",
            "list_inference_profiles",
            "inferenceProfileSummaries",
            typeEquals=profile_type,
        )


def _arn_account(profile: Mapping[str, Any]) -> str | None:
    arn = profile.get("inferenceProfileArn")
    parts = arn.split(":", 5) if isinstance(arn, str) else []
    return parts[4] or None if len(parts) == 6 else None


def _for_account(profiles: list[Profile], account: str | None) -> list[Profile]:
    """System profiles with their ARN naming ``account`` (the caller), as AWS would."""
    if account is None:
        return profiles
    result = []
    for profile in profiles:
        owner = _arn_account(profile)
        if owner is None or owner == account:
            result.append(profile)
            continue
        parts = profile["inferenceProfileArn"].split(":", 5)
        parts[4] = account
        result.append({**profile, "inferenceProfileArn": ":".join(parts)})
    return result


# Owner names the decorator gives these entries (so ``--refresh`` writes look the same).
