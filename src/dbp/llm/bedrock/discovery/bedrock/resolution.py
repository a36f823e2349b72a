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
    "check_input",
    "check_prefer",
    "find_model",
    "invoke_id_of",
    "legacy_warning",
    "lifecycle_of",
    "no_route_reason",
    "rank_system_profiles",
]

Method = Literal[
    "on-demand",
    "inference-profile",
    "provisioned",
    "custom-deployment",
    "imported",
    "prompt-router",
    "marketplace",
]
#: ``geo``: a geographic system profile (``us.``, ``eu.``, ``apac.`` ...) before ``global.``;
#: ``global``: the reverse; ``application``: the caller's application profile first;
#: ``provisioned``: an InService provisioned throughput of the account first.
Prefer = Literal["geo", "global", "application", "provisioned"]
PREFERENCES: tuple[str, ...] = get_args(Prefer)

_GLOBAL_PREFIX = "global."


@dataclass(frozen=True)
class Resolution:
    """
    [Class intent]
    How to invoke ``model_id`` from ``region``: pass ``invoke_id`` as ``modelId``.

    [Implementation details]
    ``method`` is ``on-demand`` (``invoke_id`` is the model id),
    ``inference-profile`` (the profile's id; an application profile's ARN, which
    is what Bedrock accepts for those), or one of the account's own targets:
    ``provisioned``, ``custom-deployment``, ``imported``, ``prompt-router``,
    ``marketplace`` (``invoke_id`` is its ARN; ``target_kind``/``target_name``/
    ``target_arn`` name it, ``note`` says what to know, e.g. that Converse does not
    take imported models). ``routes_to`` are the regions the call may be served
    from. ``lifecycle`` is ``ACTIVE``/``LEGACY`` (``None`` when the region does not
    list the model) and ``end_of_life`` its announced date.
    ``access`` says whether the caller's account may use the model there
    (``None`` for the account's own resources, which are not foundation models).
    Resolving ``invoke_id`` again gives an equal resolution.
    """

    model_id: str
    region: str
    invoke_id: str
    method: Method
    routes_to: tuple[str, ...]
    lifecycle: str | None
    end_of_life: _dt.datetime | None
    access: ModelAccess | None
    profile_id: str | None = None
    profile_arn: str | None = None
    profile_type: str | None = None
    warnings: tuple[str, ...] = ()
    target_kind: str | None = None
    target_name: str | None = None
    target_arn: str | None = None
    note: str | None = None

    @property
    def invocable(self) -> bool:
        """False when access is known to be denied or still pending (unknown passes)."""
        return self.access is None or not self.access.blocked

    @property
    def reason(self) -> str | None:
        """One line saying why it cannot be invoked; ``None`` when it can."""
        return None if self.access is None else self.access.explain(self.model_id)

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
            "access": None if self.access is None else self.access.to_dict(),
            "invocable": self.invocable,
            "reason": self.reason,
            "warnings": list(self.warnings),
            "target": None
            if self.target_kind is None
            else {"kind": self.target_kind, "name": self.target_name, "arn": self.target_arn},
            "note": self.note,
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


def find_model(models: Iterable[Mapping[str, Any]], wanted: str) -> Mapping[str, Any] | None:
    """The listed model whose id or ARN is ``wanted``."""
    for model in models:
        if wanted in (model.get("modelId"), model.get("modelArn")):
            return model
    return None


def check_input(model: object, region: object, prefer: str) -> None:
    """Clear errors for a missing model or region, or an unknown preference."""
    if not isinstance(model, str) or not model.strip():
        raise ValueError(
            "model must be a model id, model ARN, inference-profile id or ARN, or the name "
            f"or ARN of one of the account's targets, not {model!r}"
        )
    if not isinstance(region, str) or not region.strip():
        raise ValueError(f"region must be a region name such as 'us-east-1', not {region!r}")
    check_prefer(prefer)
