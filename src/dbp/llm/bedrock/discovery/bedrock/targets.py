"""``BedrockTargetDiscovery``: an account's other invocation targets per region, cached.

[Intent]
Teams that buy throughput or customise models ask "what do I invoke?" of those
too. Six paginated ``List*`` calls say what the account has: provisioned
throughput, custom models, their deployments, imported models, prompt routers and
marketplace endpoints. Asking them on every resolve would be slow and rate-limited.

[Design principles]
- Cached like application inference profiles: they belong to one account, so each
  kind is cached per region and account under
  ``bedrock_targets:<region>:account:<account id>:<kind>``, with the cache's
  lifetimes, served stale when AWS keeps throttling. When the account cannot be
  known, they are listed but never cached.
- An account without permission for one of these APIs (403 on its ``List`` call)
  gets that kind skipped with one warning, never a failure of the others; the
  refusal is remembered for six hours so warm runs make no call.
- A region that is not enabled fails (or is skipped) as for models and profiles.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Sequence
from typing import Any

from dbp.cache.decorator import discovery_cached

from ..cache import LOGGER_NAME
from .account import AccountScoped
from .base import MAX_STALE, UNAVAILABLE_TTL
from .errors import RegionUnavailableError, is_transient
from .keys import TARGET_DENIED_KEY, TARGET_KEY, template
from .target_kinds import KINDS, TARGET_KINDS, Target, check_kind, to_target

__all__ = ["BedrockTargetDiscovery"]

logger = logging.getLogger(LOGGER_NAME)

Summary = dict[str, Any]
#: The 403 that means "no permission for this API", not "region not enabled".
_DENIED = "AccessDeniedException"


class BedrockTargetDiscovery(AccountScoped):
    """
    [Class intent]
    List the provisioned throughput, custom models, deployments, imported models,
    prompt routers and marketplace endpoints an account has in a region, and find
    one by name or ARN.

    [Implementation details]
    Takes the :class:`~.base.DiscoveryBase` options plus ``account_id`` (skips the
    STS call). A cold region costs one paginated listing per kind asked for.
    Example::

        targets = BedrockTargetDiscovery(boto3.Session())
        [t.invoke_id for t in targets.list_targets("us-east-1", kinds=["provisioned"])]
    """

    TARGET_KEY = TARGET_KEY
    ACCOUNT_CONSEQUENCE = "provisioned throughput, custom models ... will not be cached"

    def __init__(
        self, session: Any = None, *, account_id: str | None = None, **options: Any
    ) -> None:
        super().__init__(session, account_id=account_id, **options)
        self._warned: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    # -- one region ----------------------------------------------------------------------
    def list_targets(
        self,
        region: str,
        kinds: Iterable[str] | None = None,
        *,
        refresh: bool = False,
        skip_unavailable: bool = True,
    ) -> list[Target]:
        """
        [Method intent]
        The account's targets in ``region`` of ``kinds`` (default every kind), in
        kind order then as listed, usable or not (see ``Target.usable``).

        [Implementation details]
        Kinds the account may not list are left out with one warning. A region
        not usable by these credentials gives ``[]`` with a warning, or raises
        :class:`~.errors.RegionUnavailableError` with ``skip_unavailable=False``.
        """
        wanted = [check_kind(k) for k in (TARGET_KINDS if kinds is None else kinds)]
        try:
            found = self.summaries(region, wanted, refresh=refresh)
        except RegionUnavailableError as exc:
            if not skip_unavailable:
                raise
            logger.warning("%s; treating it as having no targets", exc)
            return []
        return [to_target(kind, s, region) for kind in wanted for s in found.get(kind, [])]

    def summaries(
        self, region: str, kinds: Sequence[str], *, refresh: bool = False
    ) -> dict[str, list[Summary]]:
        """``{kind: summaries}`` as boto3 returns them; kinds the account may not list: absent."""
        self.remembered_unavailable(region, KINDS[kinds[0]].operation if kinds else "", refresh)
        account = self.account_id(region)
        found: dict[str, list[Summary]] = {}
        denied: dict[str, str] = {}
        try:
            for kind in kinds:
                listed = self._kind(region, account, kind, refresh, denied)
                if listed is not None:
                    found[kind] = listed
        except RegionUnavailableError as exc:
            self.remember_unavailable(exc)
            raise
        if denied:
            self._warn_denied(region, denied)
        return found

    def find(self, wanted: str, region: str, kinds: Iterable[str] | None = None) -> Target | None:
        """The target named ``wanted`` (its ARN, or its name) in ``region``; ``None`` if none.

        ARNs win over names; among names the kind order decides (provisioned first).
        """
        targets = self.list_targets(region, kinds, skip_unavailable=False)
        by_arn = next((t for t in targets if t.arn == wanted), None)
        return by_arn or next((t for t in targets if t.name == wanted), None)

    def clear_cache(self) -> int:
        """Remove the target listings this class stored (every region, account and kind)."""
        removed: int = self._cached_kind.cache_clear()
        return removed

    # -- cache plumbing -------------------------------------------------------------------
    def _kind(
        self,
        region: str,
        account: str | None,
        kind: str,
        refresh: bool,
        denied: dict[str, str],
    ) -> list[Summary] | None:
        """One kind's summaries, or ``None`` (recorded in ``denied``) when not permitted."""
        denied_key = None
        if account is not None and self.use_cache:
            denied_key = TARGET_DENIED_KEY.format(region=region, account=account, kind=kind)
            remembered = None if refresh or self.refresh else self.cache.get(denied_key)
            if isinstance(remembered, str):
                denied[kind] = f"{remembered} (remembered)"
                return None
        try:
            if account is None:  # unknown owner: correct but uncached
                return self._fetch(region, kind)
            listed: list[Summary] = self.through_cache(
                self._cached_kind,
                lambda: self._fetch(region, kind),
                region,
                account,
                kind,
                refresh=refresh,
            )
            return listed
        except RegionUnavailableError as exc:
            if exc.code != _DENIED:
                raise
            denied[kind] = exc.detail
            if denied_key is not None:
                ttl = UNAVAILABLE_TTL.total_seconds()
                self.cache.set(denied_key, exc.detail, memory_ttl=ttl, disk_ttl=ttl, redis_ttl=ttl)
            return None

    @discovery_cached(
        template(TARGET_KEY),
        cache=lambda self: self.cache,
        serve_stale_on_error=is_transient,
        max_stale=MAX_STALE,
    )
    def _cached_kind(self, region: str, account: str, kind: str) -> list[Summary]:
        return self._fetch(region, kind)

    def _fetch(self, region: str, kind: str) -> list[Summary]:
        spec = KINDS[kind]
        return self.fetch_pages(region, spec.operation, spec.method, spec.list_key)

    def _warn_denied(self, region: str, denied: dict[str, str]) -> None:
        """One line per region and set of kinds; remembered refusals, and repeats, only INFO."""
        with self._lock:
            new = {k for k in denied if (region, k) not in self._warned}
            self._warned.update((region, k) for k in denied)
        fresh = any(not denied[k].endswith("(remembered)") for k in new)
        labels = ", ".join(KINDS[k].label for k in denied)
        cause = next(iter(denied.values()))
        logger.log(
            logging.WARNING if fresh else logging.INFO,
            "%s: no permission to list %s (%s); skipping them",
            region,
            labels,
            cause,
        )
