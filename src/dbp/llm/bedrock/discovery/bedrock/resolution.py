"""``Resolution``: which ID to invoke for a model from a region, and the rules that pick it.

[Intent]
The answer to "what do I pass to ``Converse``/``InvokeModel``?" is a small, frozen
value a caller can log, compare and serialise; the preference rules are plain
functions over Bedrock's dicts, so they are read (and tested) in one place.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args

from .access import ModelAccess

__all__ = [
    "PREFERENCES",
    "Method",
    "Prefer",
    "Resolution",
    "check_prefer",
    "invoke_id_of",
    "legacy_warning",
    "lifecycle_of",
    "no_route_reason",
    "rank_system_profiles",
]

Method = Literal["on-demand", "inference-profile"]
#: ``geo``: a geographic system profile (``us.``, ``eu.``, ``apac.`` ...) before ``global.``;
#: ``global``: the reverse; ``application``: the caller's application profile first.
Prefer = Literal["geo", "global", "application"]
PREFERENCES: tuple[str, ...] = get_args(Prefer)

_GLOBAL_PREFIX = "global."


@dataclass(frozen=True)
class Resolution:
    """
    [Class intent]
    How to invoke ``model_id`` from ``region``: pass ``invoke_id`` as ``modelId``.

    [Implementation details]
    ``method`` is ``on-demand`` (``invoke_id`` is the model id) or
    ``inference-profile`` (the profile's id; an application profile's ARN, which
    is what Bedrock accepts for those). ``routes_to`` are the regions the call
    may be served from. ``lifecycle`` is ``ACTIVE``/``LEGACY`` (``None`` when the
    region does not list the model) and ``end_of_life`` its announced date.
    ``access`` says whether the caller's account may use the model there.
    Resolving ``invoke_id`` again gives an equal resolution.
    """

    model_id: str
    region: str
    invoke_id: str
    method: Method
    routes_to: tuple[str, ...]
    lifecycle: str | None
    end_of_life: _dt.datetime | None
    access: ModelAccess
    profile_id: str | None = None
    profile_arn: str | None = None
    profile_type: str | None = None
    warnings: tuple[str, ...] = ()

    @property
    def invocable(self) -> bool:
        """False only when the account is known to be denied (unknown access passes)."""
        return not self.access.denied

    @property
    def reason(self) -> str | None:
        """One line saying why it cannot be invoked; ``None`` when it can."""
        if self.invocable:
            return None
        account = self.access.account or "this account"
        return (
            f"account {account} may not use {self.model_id} in {self.region}: {self.access.reason}"
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (camelCase like Bedrock's own fields; dates stay datetimes)."""
        return {
            "modelId": self.model_id,
            "region": self.region,
            "invokeId": self.invoke_id,
            "method": self.method,
            "profileId": self.profile_id,
            "profileArn": self.profile_arn,
            "profileType": self.profile_type,
            "routesTo": list(self.routes_to),
            "lifecycle": {"status": self.lifecycle, "endOfLifeTime": self.end_of_life},
            "access": self.access.to_dict(),
            "invocable": self.invocable,
            "reason": self.reason,
            "warnings": list(self.warnings),
        }


def check_prefer(prefer: str) -> None:
    """A clear error for an unknown preference (they are plain strings on the CLI)."""
    if prefer not in PREFERENCES:
        choices = ", ".join(repr(p) for p in PREFERENCES)
        raise ValueError(f"prefer must be one of {choices}, not {prefer!r}")


def invoke_id_of(profile: Mapping[str, Any]) -> str:
    """What to pass as ``modelId`` for a profile: the id, or an application profile's ARN."""
    if profile.get("type") == "APPLICATION" and profile.get("inferenceProfileArn"):
        return str(profile["inferenceProfileArn"])
    return str(profile["inferenceProfileId"])


def rank_system_profiles(
    profiles: Iterable[Mapping[str, Any]], prefer: str
) -> list[Mapping[str, Any]]:
    """Active system profiles, geographic ones before ``global.`` (reversed for "global")."""
    active = [
        p
        for p in profiles
        if p.get("type", "SYSTEM_DEFINED") == "SYSTEM_DEFINED"
        and p.get("status", "ACTIVE") == "ACTIVE"
        and isinstance(p.get("inferenceProfileId"), str)
    ]

    def order(profile: Mapping[str, Any]) -> tuple[bool, str]:
        is_global = str(profile["inferenceProfileId"]).startswith(_GLOBAL_PREFIX)
        return (is_global if prefer != "global" else not is_global, profile["inferenceProfileId"])

    return sorted(active, key=order)


def lifecycle_of(model: Mapping[str, Any] | None) -> tuple[str | None, _dt.datetime | None]:
    """``(status, end of life)`` of a listed model; ``(None, None)`` when not listed."""
    lifecycle = (model or {}).get("modelLifecycle")
    if not isinstance(lifecycle, Mapping):
        return None, None
    status = lifecycle.get("status")
    end = lifecycle.get("endOfLifeTime")
    return (
        str(status) if status is not None else None,
        end if isinstance(end, _dt.datetime) else None,
    )


def legacy_warning(model_id: str, end_of_life: _dt.datetime | None) -> str:
    when = (
        f"end of life {end_of_life.date().isoformat()}"
        if end_of_life is not None
        else "end-of-life date not announced"
    )
    return f"{model_id} is LEGACY ({when}); plan a move to a newer model"


def no_route_reason(model: Mapping[str, Any] | None) -> str:
    """Why a model listed (or not) in a region cannot be invoked from it."""
    if model is None:
        return "not offered there, on demand or through an inference profile"
    types = [str(t) for t in model.get("inferenceTypesSupported") or []]
    if "INFERENCE_PROFILE" in types:
        return "offered only through an inference profile, and no profile there routes to it"
    if types == ["PROVISIONED"]:
        return "offered there only with Provisioned Throughput"
    return f"offered there only as {', '.join(types) or 'nothing invocable'}"
