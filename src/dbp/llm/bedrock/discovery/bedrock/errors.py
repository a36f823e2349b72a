"""Errors of the Bedrock discovery layer, and how AWS errors are classified and retried.

[Intent]
A multi-region scan must tell apart three kinds of failure: the region is not
available to this account (skip it, warn), the service is busy (retry, then fall
back to a stale cached value), and everything else (report it, naming the region).

[Implementation details]
botocore is imported lazily inside the helpers, so importing this module is cheap.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

__all__ = [
    "BedrockDiscoveryError",
    "ModelNotAvailableError",
    "RegionUnavailableError",
    "RetryPolicy",
    "TargetNotUsableError",
    "error_code",
    "is_transient",
]

T = TypeVar("T")

#: Codes meaning "this region is not usable by this caller": opt-in region not
#: enabled (UnrecognizedClientException), no access (AccessDeniedException).
UNAVAILABLE_CODES = frozenset(
    {"AccessDeniedException", "UnrecognizedClientException", "InvalidClientTokenId"}
)
#: Codes worth retrying and worth answering with a stale value.
TRANSIENT_CODES = frozenset(
    {
        "ThrottlingException",
        "TooManyRequestsException",
        "ServiceUnavailableException",
        "InternalServerException",
        "RequestLimitExceeded",
    }
)


class BedrockDiscoveryError(Exception):
    """A discovery call for one region failed; the message names the region.

    ``code`` is the AWS error code (``ThrottlingException`` ...) when there is one;
    the original exception is the ``__cause__``.
    """

    def __init__(self, region: str, operation: str, code: str | None, message: str) -> None:
        self.region = region
        self.operation = operation
        self.code = code
        self.detail = f"{code}: {message}" if code else message
        super().__init__(f"{region}: {operation} failed: {self.detail}")


class RegionUnavailableError(BedrockDiscoveryError):
    """The region is not enabled for, or not accessible to, this account.

    ``remembered`` is True when the answer came from the cache, not from AWS.
    """

    remembered = False


class ModelNotAvailableError(LookupError):
    """No route (on demand or through an inference profile) to a model from a region.

    [Intent]
    "Where *can* I call it?" is the next question, so the error answers it:
    ``available_in`` lists the regions that offer the model (from the cached scan,
    fastest first; empty when none or not scanned), and the message names them.
    A ``LookupError``, deliberately not a ``KeyError``: the message is the point.
    """

    def __init__(
        self, model: str, region: str, reason: str, available_in: Sequence[str] = ()
    ) -> None:
        self.model = model
        self.region = region
        self.reason = reason
        self.available_in = tuple(available_in)
        where = (
            f"regions that offer it: {', '.join(self.available_in)}"
            if self.available_in
            else "no scanned region offers it"
        )
        super().__init__(f"{model} is not available in {region} ({reason}); {where}")


class TargetNotUsableError(LookupError):
    """The account's target exists but cannot be invoked now (Creating, Failed, ...).

    The message is one line naming it, its state and what is missing; ``target``
    is what was asked for and ``region`` where.
    """

    def __init__(self, target: str, region: str, reason: str) -> None:
        self.target = target
        self.region = region
        self.reason = reason
        super().__init__(reason)


def error_code(exc: BaseException) -> str | None:
    """The AWS error code of a botocore ``ClientError`` (or of our own error)."""
    if isinstance(exc, BedrockDiscoveryError):
        return exc.code
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        return code if isinstance(code, str) else None
    return None


def is_transient(exc: BaseException) -> bool:
    """True for errors that may pass on their own: throttling, 5xx, connection trouble.

    Used both to decide on a retry and as the ``serve_stale_on_error`` predicate.
    """
    if isinstance(exc, RegionUnavailableError):
        return False
    if error_code(exc) in TRANSIENT_CODES:
        return True
    if isinstance(exc, BedrockDiscoveryError):
        return exc.code == "ConnectionError"
    try:
        from botocore.exceptions import ConnectionError as BotoConnectionError
    except ImportError:  # pragma: no cover - botocore is installed with the extra
        return False
    return isinstance(exc, BotoConnectionError)


def is_unavailable(exc: BaseException) -> bool:
    """True when the error means the region is not usable by this caller."""
    return error_code(exc) in UNAVAILABLE_CODES


@dataclass(frozen=True)
class RetryPolicy:
    """
    [Intent]
    Retry throttled and transient calls with capped, jittered exponential backoff.

    [Design principles]
    Our own loop instead of botocore's retry modes, so the delays are known
    (botocore's "standard" mode may wait up to 20 s) and tests can inject ``sleep``.
    Clients built by :class:`~.clients.BedrockClients` have botocore retries off.

    [Implementation details]
    ``attempts`` counts every try (1 = no retry). The n-th retry waits a random
    time in ``[0, min(max_delay, base_delay * 2**n)]`` ("full jitter").
    """

    attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 8.0
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)

    def delay(self, retry: int) -> float:
        return random.uniform(0.0, min(self.max_delay, self.base_delay * 2**retry))

    def call(
        self, func: Callable[[], T], *, on_retry: Callable[[BaseException, int], Any] | None = None
    ) -> T:
        """Run ``func``; retry it on transient errors; re-raise the last error."""
        for attempt in range(1, max(1, self.attempts) + 1):
            try:
                return func()
            except Exception as exc:
                if attempt >= self.attempts or not is_transient(exc):
                    raise
                if on_retry is not None:
                    on_retry(exc, attempt)
                self.sleep(self.delay(attempt - 1))
        raise AssertionError("unreachable")  # pragma: no cover
