"""``BedrockModelAccess``: may the caller's account use model M in region R? Cached an hour.

[Intent]
A model can be listed in a region and still fail for an account: no agreement
accepted, not authorized, not entitled. ``GetFoundationModelAvailability`` says
which; asking it on every resolve would be slow and rate-limited.

[Design principles]
- Cached per account, region and model (``bedrock_access:<region>:account:<id>:<model>``),
  like application profiles: two accounts sharing a cache folder never see each
  other's answer. When the account cannot be known the answer is fetched, never cached.
- A shorter lifetime than the listings (one hour in both tiers): access changes
  when someone accepts an agreement.
- Never a failure: a caller without permission for this API (403), a model the API
  does not know (404/400), or AWS still busy after retries gives access
  ``"unknown"`` with one warning per object. The 403/404/400 answers are remembered
  for the same hour, so a warm check makes no call; busy answers are not.
"""

from __future__ import annotations

import datetime as _dt
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from dbp.cache.decorator import discovery_cached

from ..cache import LOGGER_NAME
from .account import AccountScoped
from .data import model_id_from_arn
from .errors import BedrockDiscoveryError
from .keys import ACCESS_KEY, template

__all__ = ["ACCESS_TTL", "AccessStatus", "BedrockModelAccess", "ModelAccess"]

logger = logging.getLogger(LOGGER_NAME)

AccessStatus = Literal["allowed", "denied", "pending", "unknown"]
#: Lifetime of a cached access answer, in memory and on disk.
ACCESS_TTL = _dt.timedelta(hours=1)
#: Field of a stored answer that records why access could not be told.
UNKNOWN_FIELD = "dbpUnknown"
#: Errors that will not pass within the hour: remembered as "unknown".
_REMEMBERED_CODES = frozenset(
    {
        "AccessDeniedException",
        "UnrecognizedClientException",
        "ResourceNotFoundException",
        "ValidationException",
    }
)
#: The good value of each field, and the values that mean "no".
_FIELDS = (
    ("regionAvailability", "AVAILABLE", {"NOT_AVAILABLE"}),
    ("authorizationStatus", "AUTHORIZED", {"NOT_AUTHORIZED"}),
    ("agreementAvailability", "AVAILABLE", {"NOT_AVAILABLE", "PENDING", "ERROR"}),
    ("entitlementAvailability", "AVAILABLE", {"NOT_AVAILABLE"}),
)
_EXPLAIN = {
    ("regionAvailability", "NOT_AVAILABLE"): "not offered to this account in the region",
    ("authorizationStatus", "NOT_AUTHORIZED"): "not authorized",
    ("agreementAvailability", "NOT_AVAILABLE"): "no agreement accepted: request model access",
    ("agreementAvailability", "PENDING"): "model access requested, not yet granted",
    ("agreementAvailability", "ERROR"): "agreement failed",
    ("entitlementAvailability", "NOT_AVAILABLE"): "not entitled",
}


@dataclass(frozen=True)
class ModelAccess:
    """What ``GetFoundationModelAvailability`` says: allowed / denied / pending / unknown.

    ``pending``: access was requested (agreement PENDING) and nothing else is wrong;
    not usable yet, like ``denied`` (``blocked`` is True for both).
    ``reason`` is one line: why access is not allowed (``None`` when allowed).
    The raw fields are kept (``None`` when the service did not answer).
    """

    model_id: str
    region: str
    account: str | None
    status: AccessStatus
    reason: str | None = None
    agreement: str | None = None
    authorization: str | None = None
    entitlement: str | None = None
    region_availability: str | None = None

    @property
    def allowed(self) -> bool:
        return self.status == "allowed"

    @property
    def denied(self) -> bool:
        return self.status == "denied"

    @property
    def blocked(self) -> bool:
        """Known not usable now: denied, or requested and still pending."""
        return self.status in ("denied", "pending")

    def explain(self, model: str | None = None) -> str | None:
        """One line for a blocked answer (``None`` otherwise): who may not use what, and why."""
        if not self.blocked:
            return None
        account = self.account or "this account"
        yet = " yet" if self.status == "pending" else ""
        return f"account {account} may not use {model or self.model_id} in {self.region}{yet}: " + (
            self.reason or self.status
        )

    @classmethod
    def from_answer(
        cls, answer: Mapping[str, Any], model_id: str, region: str, account: str | None
    ) -> ModelAccess:
        """Judge a ``GetFoundationModelAvailability`` answer (or a remembered "unknown")."""
        if UNKNOWN_FIELD in answer:
            return cls(model_id, region, account, "unknown", str(answer[UNKNOWN_FIELD]))
        agreement_block = answer.get("agreementAvailability")
        agreement = agreement_block if isinstance(agreement_block, Mapping) else {}
        values = {
            "regionAvailability": answer.get("regionAvailability"),
            "authorizationStatus": answer.get("authorizationStatus"),
            "agreementAvailability": agreement.get("status"),
            "entitlementAvailability": answer.get("entitlementAvailability"),
        }
        problems, unclear = [], []
        for name, good, bad in _FIELDS:
            value = values[name]
            if value in bad:
                problems.append(f"{_EXPLAIN[(name, value)]} ({name} {value})")
            elif value != good:  # missing, or a value botocore's enum does not know
                unclear.append(f"{name} {value}")
        only_pending = len(problems) == 1 and values["agreementAvailability"] == "PENDING"
        if problems and agreement.get("errorMessage"):
            problems.append(str(agreement["errorMessage"]).strip().splitlines()[0])
        if problems:
            status: AccessStatus = "pending" if only_pending else "denied"
            reason: str | None = "; ".join(problems)
        elif unclear:
            status, reason = "unknown", "unrecognised answer: " + ", ".join(unclear)
        else:
            status, reason = "allowed", None
        return cls(
            model_id,
            region,
            account,
            status,
            reason,
            values["agreementAvailability"],
            values["authorizationStatus"],
            values["entitlementAvailability"],
            values["regionAvailability"],
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, with the service's field names."""
        return {
            "modelId": self.model_id,
            "region": self.region,
            "account": self.account,
            "status": self.status,
            "reason": self.reason,
            "agreement": self.agreement,
            "authorizationStatus": self.authorization,
            "entitlementAvailability": self.entitlement,
            "regionAvailability": self.region_availability,
        }


class _Unsupported(Exception):
    """The installed botocore has no ``get_foundation_model_availability``."""


class BedrockModelAccess(AccountScoped):
    """
    [Class intent]
    Tell whether the caller's account may use a foundation model in a region,
    from one cached ``GetFoundationModelAvailability`` call per account, region,
    model and hour.

    [Implementation details]
    Takes the :class:`~.base.DiscoveryBase` options plus ``account_id`` (skips the
    STS call). Example::

        access = BedrockModelAccess(boto3.Session())
        access.check("meta.llama3-2-1b-instruct-v1:0", "us-east-1")
        # ModelAccess(status='denied', reason='not authorized (authorizationStatus ...)', ...)
    """

    ACCESS_KEY = ACCESS_KEY
    ACCOUNT_CONSEQUENCE = "model access will not be cached"

    def __init__(
        self, session: Any = None, *, account_id: str | None = None, **options: Any
    ) -> None:
        super().__init__(session, account_id=account_id, **options)
        self._warned = False
        self._warn_lock = threading.Lock()

    def check(self, model: str, region: str, *, refresh: bool = False) -> ModelAccess:
        """
        [Method intent]
        May the caller's account use ``model`` (an id or foundation-model ARN) in ``region``?

        [Implementation details]
        ``refresh=True`` asks AWS again and stores the answer. Never raises for
        AWS trouble: the result's ``status`` is ``"unknown"`` and ``reason`` says why.
        """
        if not isinstance(model, str) or not model.strip():
            raise ValueError(f"model must be a model id or ARN, not {model!r}")
        model_id = model_id_from_arn(model) or model
        account = self.account_id(region)
        try:
            answer = self._answer(model_id, region, account, refresh)
        except (_Unsupported, BedrockDiscoveryError) as exc:  # busy past retries, 5xx ...
            answer = {UNKNOWN_FIELD: str(exc)}
        access = ModelAccess.from_answer(answer, model_id, region, account)
        if access.status == "unknown":
            self._warn_once(access)
        return access

    def clear_cache(self) -> int:
        """Remove the access answers this class stored (every account, region and model)."""
        removed: int = self._cached_access.cache_clear()
        return removed

    # -- cache plumbing -----------------------------------------------------------------
    def _answer(
        self, model_id: str, region: str, account: str | None, refresh: bool
    ) -> dict[str, Any]:
        if account is None or not self.use_cache:  # unknown owner: correct but uncached
            return self._fetch(region, model_id)
        if refresh or self.refresh:  # anew, stored for the same hour
            answer: dict[str, Any] = self._cached_access.refresh(region, account, model_id)
            return answer
        return self._cached_access(region, account, model_id)

    @discovery_cached(
        template(ACCESS_KEY),
        cache=lambda self: self.cache,
        memory_ttl=ACCESS_TTL,
        disk_ttl=ACCESS_TTL,
        redis_ttl=ACCESS_TTL,
    )
    def _cached_access(self, region: str, account: str, model: str) -> dict[str, Any]:
        return self._fetch(region, model)

    def _fetch(self, region: str, model_id: str) -> dict[str, Any]:
        if not hasattr(self.clients.client(region), "get_foundation_model_availability"):
            raise _Unsupported(
                "this botocore has no GetFoundationModelAvailability; upgrade boto3/botocore"
            )
        response, known = self.call_answering(
            region,
            "GetFoundationModelAvailability",
            lambda client: client.get_foundation_model_availability(modelId=model_id),
            _REMEMBERED_CODES,
        )
        if response is None:  # an answer all the same: remembered as "unknown"
            return {"modelId": model_id, UNKNOWN_FIELD: known.detail if known else ""}
        return {k: v for k, v in response.items() if k != "ResponseMetadata"}

    def _warn_once(self, access: ModelAccess) -> None:
        with self._warn_lock:
            first, self._warned = not self._warned, True
        logger.log(
            logging.WARNING if first else logging.INFO,
            "cannot tell whether the account may use %s in %s (%s); access is reported "
            "as 'unknown'",
            access.model_id,
            access.region,
            access.reason,
        )
