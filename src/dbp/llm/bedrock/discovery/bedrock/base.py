"""What model and profile discovery share: clients, retries, latency, caching, scans.

[Intent]
Both discovery classes make one kind of call ("list X in region R") that must be
timed, retried when throttled, classified when it fails, cached per region and
fanned out over many regions. This module does that once.
"""

from __future__ import annotations

import datetime as _dt
import logging
import time
from collections.abc import Callable, Collection, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from functools import partial
from typing import Any, Literal, TypeVar

from dbp.cache.decorator import BoundCachedCallable

from ..cache import LOGGER_NAME, DiscoveryCache, default_cache
from .clients import API_CALLS, BedrockClients, ClientFactory
from .errors import (
    BedrockDiscoveryError,
    RegionUnavailableError,
    RetryPolicy,
    error_code,
    is_transient,
    is_unavailable,
)
from .keys import UNAVAILABLE_KEY
from .latency import RegionLatencyTracker

__all__ = ["MAX_STALE", "PAGE_SIZE", "DiscoveryBase", "ProgressCallback"]

T = TypeVar("T")
#: ``progress(done, total, region)`` after each region of a scan.
ProgressCallback = Callable[[int, int, str], None]
OnError = Literal["raise", "skip"]

#: How long past expiry a cached listing may be served when AWS keeps throttling.
MAX_STALE = _dt.timedelta(days=7)
#: How long "this region is not enabled / denied for these credentials" is remembered.
UNAVAILABLE_TTL = _dt.timedelta(hours=6)
DEFAULT_MAX_WORKERS = 8
#: Largest page the paginated ``List*`` operations accept.
PAGE_SIZE = 1000

logger = logging.getLogger(LOGGER_NAME)


class DiscoveryBase:
    """Shared plumbing of :class:`BedrockModelDiscovery` and :class:`BedrockProfileDiscovery`."""

    def __init__(
        self,
        session: Any = None,
        *,
        client_factory: ClientFactory | None = None,
        clients: BedrockClients | None = None,
        endpoint_url: str | None = None,
        profile_name: str | None = None,
        cache: DiscoveryCache | None = None,
        latency: RegionLatencyTracker | None = None,
        retry: RetryPolicy | None = None,
        regions: Sequence[str] | None = None,
        max_workers: int = DEFAULT_MAX_WORKERS,
        use_cache: bool = True,
        refresh: bool = False,
    ) -> None:
        """
        Args:
            session / client_factory / endpoint_url / profile_name: where clients
                come from (see :class:`BedrockClients`); or pass ``clients`` to share
                one :class:`BedrockClients` between discovery objects.
            cache: the :class:`DiscoveryCache` (default: the process-wide one).
            latency: tracker fed with every call's latency (default: one on ``cache``).
            retry: backoff for throttled calls (default: 4 attempts, 0.5 s base).
            regions: default candidate regions for scans (default: every region
                botocore knows for ``bedrock``).
            max_workers: bound of the thread pool used by scans.
            use_cache: ``False`` calls AWS every time and stores nothing.
            refresh: ``True`` calls AWS every time but stores the fresh results.
        """
        if clients is not None and (
            session is not None or client_factory is not None or endpoint_url or profile_name
        ):
            raise ValueError("pass clients, or the options to build them, not both")
        self.clients = clients or BedrockClients(
            session,
            client_factory=client_factory,
            endpoint_url=endpoint_url,
            sts_endpoint_url=endpoint_url,
            profile_name=profile_name,
        )
        self.cache = cache if cache is not None else default_cache()
        self.latency = latency if latency is not None else RegionLatencyTracker(self.cache)
        self.retry = retry or RetryPolicy()
        self._regions = list(regions) if regions is not None else None
        if max_workers < 1:
            raise ValueError(f"max_workers must be >= 1, got {max_workers}")
        self.max_workers = max_workers
        self.use_cache = use_cache
        self.refresh = refresh
        #: Number of AWS API requests this object made (retries included).
        self.api_calls = 0

    # -- regions -----------------------------------------------------------------
    def default_regions(self) -> list[str]:
        """Candidate regions for scans: the ones given, else botocore's list for bedrock."""
        if self._regions is not None:
            return list(self._regions)
        return self.clients.available_regions()

    # -- one AWS call ---------------------------------------------------------------
    def call(self, region: str, operation: str, func: Callable[[Any], T]) -> T:
        """
        [Method intent]
        Run ``func(client)`` for ``region``: timed, retried, errors named by region.

        [Implementation details]
        Each successful request's latency goes to the tracker (failed ones would
        distort it: a 403 is fast). A ``ClientError`` becomes
        :class:`RegionUnavailableError` (denied / opt-in region) or
        :class:`BedrockDiscoveryError`, with the original as ``__cause__``.
        """
        client = self.clients.client(region)

        def attempt() -> T:
            self.api_calls += 1
            started = time.perf_counter()
            try:
                result = func(client)
            except Exception as exc:
                API_CALLS.add(operation, region, error_code(exc) or type(exc).__name__)
                raise
            API_CALLS.add(operation, region)
            self.latency.record(region, time.perf_counter() - started)
            return result

        def on_retry(exc: BaseException, number: int) -> None:
            logger.info("%s: %s attempt %d failed (%s); retrying", region, operation, number, exc)

        try:
            return self.retry.call(attempt, on_retry=on_retry)
        except Exception as exc:
            raise self._translate(region, operation, exc) from exc

    def call_answering(
        self, region: str, operation: str, func: Callable[[Any], T], codes: Collection[str]
    ) -> tuple[T | None, BedrockDiscoveryError | None]:
        """:meth:`call`, but an error whose code is in ``codes`` is an answer, not a fault.

        Returns ``(result, None)``, or ``(None, error)`` for such an error (e.g.
        ``ResourceNotFoundException`` from a Get call); other errors raise.
        """
        try:
            return self.call(region, operation, func), None
        except BedrockDiscoveryError as exc:
            if exc.code in codes:
                return None, exc
            raise

    def _translate(self, region: str, operation: str, exc: Exception) -> Exception:
        code = error_code(exc)
        message = _message(exc)
        if is_unavailable(exc):
            return RegionUnavailableError(region, operation, code, message)
        if code is not None:
            if is_transient(exc) and self.retry.attempts > 1:
                message += f" (after {self.retry.attempts} attempts)"
            return BedrockDiscoveryError(region, operation, code, message)
        if is_transient(exc):
            return BedrockDiscoveryError(region, operation, "ConnectionError", message)
        return exc  # programming errors (ParamValidationError ...) stay as they are

    def fetch_pages(
        self, region: str, operation: str, method: str, list_key: str, **filters: Any
    ) -> list[dict[str, Any]]:
        """Every page of a paginated ``List*`` call (``maxResults``/``nextToken`` loop)."""
        items: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"maxResults": PAGE_SIZE, **filters}
            if token:
                kwargs["nextToken"] = token
            page: dict[str, Any] = self.call(
                region, operation, partial(_list_page, method=method, kwargs=kwargs)
            )
            items += page.get(list_key, [])
            token = page.get("nextToken")
            if not token:
                return items

    # -- caching helpers --------------------------------------------------------------
    def through_cache(
        self,
        cached: BoundCachedCallable[T],
        fetch: Callable[[], T],
        *args: Any,
        refresh: bool,
    ) -> T:
        """Call the decorated ``cached(*args)``, refresh it, or bypass the cache.

        ``refresh`` fetches anew through the cache's read-through path (single
        flight, stored, the stale value served if AWS stays busy); ``use_cache=False``
        only fetches.
        """
        if not self.use_cache:
            return fetch()
        if refresh or self.refresh:
            return cached.refresh(*args)
        return cached(*args)

    def unavailable_key(self, region: str) -> str | None:
        """Key remembering "region not usable with these credentials" (None: don't remember)."""
        fingerprint = self.clients.credential_fingerprint()
        return (
            None
            if fingerprint is None
            else UNAVAILABLE_KEY.format(region=region, fingerprint=fingerprint)
        )

    def remembered_unavailable(self, region: str, operation: str, refresh: bool) -> None:
        """Raise the remembered :class:`RegionUnavailableError` for ``region``, if fresh."""
        if not self.use_cache or refresh or self.refresh:
            return
        key = self.unavailable_key(region)
        reason = None if key is None else self.cache.get(key)
        if isinstance(reason, str):
            error = RegionUnavailableError(region, operation, None, f"{reason} (remembered)")
            error.remembered = True
            raise error

    def remember_unavailable(self, error: RegionUnavailableError) -> None:
        key = self.unavailable_key(error.region) if self.use_cache else None
        if key is not None and not error.remembered:
            ttl = UNAVAILABLE_TTL.total_seconds()
            self.cache.set(key, error.detail, memory_ttl=ttl, disk_ttl=ttl, redis_ttl=ttl)

    # -- many regions -------------------------------------------------------------------
    def scan_regions(
        self,
        regions: Iterable[str] | None,
        per_region: Callable[[str], T],
        *,
        max_workers: int | None = None,
        progress: ProgressCallback | None = None,
        on_error: OnError = "raise",
    ) -> dict[str, T]:
        """
        [Method intent]
        Run ``per_region`` for every region on a bounded thread pool.

        [Design principles]
        One region's trouble never sinks the scan: unavailable regions are left
        out (with a warning, from ``per_region``); other failures are left out
        with a warning when ``on_error="skip"``, else the first one (in region
        order) is raised once every region has finished.

        [Implementation details]
        Results keep the order of ``regions``.
        """
        wanted = list(dict.fromkeys(self.default_regions() if regions is None else regions))
        results: dict[str, T] = {}
        errors: dict[str, Exception] = {}
        unavailable: dict[str, RegionUnavailableError] = {}
        workers = max(1, min(max_workers or self.max_workers, len(wanted) or 1))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="dbp-scan") as pool:
            futures = {pool.submit(per_region, region): region for region in wanted}
            for done, future in enumerate(as_completed(futures), start=1):
                region = futures[future]
                try:
                    results[region] = future.result()
                except RegionUnavailableError as exc:
                    unavailable[region] = exc
                except Exception as exc:
                    errors[region] = exc
                if progress is not None:
                    progress(done, len(wanted), region)
        _warn_unavailable([unavailable[r] for r in wanted if r in unavailable])
        for region, error in errors.items():
            if on_error == "skip":
                text = str(error)
                logger.warning(
                    "skipping %s", text if text.startswith(region) else f"{region}: {text}"
                )
        if errors and on_error == "raise":
            first = next(r for r in wanted if r in errors)
            raise errors[first]
        return {r: results[r] for r in wanted if r in results}


def _list_page(client: Any, method: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    page: dict[str, Any] = getattr(client, method)(**kwargs)
    return page


def _warn_unavailable(errors: list[RegionUnavailableError]) -> None:
    """One line per cause, not one per region: a full scan may skip twenty regions.

    Regions learned unavailable just now are a warning; remembered ones only INFO.
    """
    groups: dict[tuple[bool, str], list[str]] = {}
    for error in errors:
        cause = error.detail.removesuffix(" (remembered)")
        groups.setdefault((error.remembered, cause), []).append(error.region)
    for (remembered, cause), regions in groups.items():
        logger.log(
            logging.INFO if remembered else logging.WARNING,
            "skipped %d region(s) not available to these credentials%s: %s (%s)",
            len(regions),
            " (remembered)" if remembered else "",
            ", ".join(regions),
            cause,
        )


def _message(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        message = response.get("Error", {}).get("Message")
        if isinstance(message, str) and message:
            return message
    return str(exc)
