"""Resolving the account's own targets, and listing every way to invoke a model.

[Intent]
The resolver answers "what do I pass as ``modelId``" for provisioned throughput,
custom models, deployments, imported models, prompt routers and marketplace
endpoints too. The rules are plain functions over :class:`~.target_kinds.Target`
lists, read (and tested) in one place:

- a custom model goes to its Active on-demand deployment, else its InService
  provisioned throughput, else a clear error saying which is missing;
- a target that exists but is not usable (Creating, Failed, INCOMPATIBLE_ENDPOINT)
  is an error saying so, never an invoke ID;
- for a foundation model, ``prefer="provisioned"`` takes an InService provisioned
  throughput of the account.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .access import ModelAccess
from .data import model_id_from_arn
from .errors import TargetNotUsableError
from .resolution import Method, Resolution, invoke_id_of
from .target_kinds import Target

__all__ = [
    "Route",
    "choose_target",
    "find_target",
    "kinds_for",
    "provisioned_for",
    "resolution_of",
    "route_of",
    "routes_of",
]

#: ARN resource types of the account's targets, and the kinds to list for each.
_ARN_KINDS = (
    (":provisioned-model/", ("provisioned",)),
    (":custom-model-deployment/", ("deployment",)),
    (":custom-model/", ("custom", "deployment", "provisioned")),
    (":imported-model/", ("imported",)),
    ("prompt-router/", ("router",)),
    (":endpoint/", ("marketplace",)),
)
_METHODS: dict[str, Method] = {
    "provisioned": "provisioned",
    "deployment": "custom-deployment",
    "imported": "imported",
    "router": "prompt-router",
    "marketplace": "marketplace",
}
_ROUTES = ("custom", "deployment", "provisioned")
ALL_KINDS = ("provisioned", "custom", "deployment", "imported", "router", "marketplace")


@dataclass(frozen=True)
class Route:
    """One way to invoke a model from a region: a method, the ID to pass, and its state."""

    method: str
    invoke_id: str
    usable: bool
    state: str | None = None
    name: str | None = None
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "invokeId": self.invoke_id if self.usable else None,
            "name": self.name,
            "state": self.state,
            "usable": self.usable,
            "note": self.note,
        }


def kinds_for(wanted: str) -> tuple[str, ...] | None:
    """Which kinds ``wanted`` may be: by its ARN's resource type, or every kind for a bare
    name; ``None`` for an id with a dot (a model or profile id: target names have none)."""
    if wanted.startswith("arn:"):
        return next((kinds for marker, kinds in _ARN_KINDS if marker in wanted), None)
    return None if "." in wanted else ALL_KINDS


def _same_model(target_model: str | None, model: str) -> bool:
    """A target's model ARN names ``model`` (an ARN, or a foundation model id)."""
    if target_model is None:
        return False
    return target_model == model or model_id_from_arn(target_model) == model


def provisioned_for(model: str, targets: Iterable[Target]) -> list[Target]:
    """The provisioned throughputs serving ``model`` (id or ARN), InService first."""
    found = [t for t in targets if t.kind == "provisioned" and _same_model(t.model, model)]
    return sorted(found, key=lambda t: (t.state != "InService", not t.usable, t.name))


def find_target(wanted: str, targets: Sequence[Target]) -> Target | None:
    """The target whose ARN, else whose name, is ``wanted``."""
    found = next((t for t in targets if t.arn == wanted), None)
    return found or next((t for t in targets if t.name == wanted), None)


def route_of(target: Target) -> Route:
    """A target as one way to invoke: its ARN, state, and why not when not usable."""
    note = target.note if target.usable else target.unusable_reason()
    return Route(_METHODS[target.kind], target.arn, target.usable, target.state, target.name, note)


def choose_target(wanted: str, region: str, targets: Sequence[Target]) -> Target | None:
    """
    [Method intent]
    The usable target to invoke for ``wanted`` (an ARN or a name), ``None`` when no
    target has that ARN or name.

    [Implementation details]
    ARNs win over names. A custom model resolves to its Active deployment, else its
    InService provisioned throughput. Raises :class:`TargetNotUsableError` when the
    target (or every route of a custom model) exists but is not usable.
    """
    found = find_target(wanted, targets)
    if found is None:
        return None
    if found.kind != "custom":
        if not found.usable:
            raise TargetNotUsableError(wanted, region, found.unusable_reason())
        return found
    if not found.usable:
        raise TargetNotUsableError(wanted, region, found.unusable_reason())
    deployments = [t for t in targets if t.kind == "deployment" and t.model == found.arn]
    provisioned = provisioned_for(found.arn, targets)
    for route in (*deployments, *provisioned):
        if route.usable and route.state in ("Active", "InService"):
            return route
    present = [f"{t.label} {t.name} is {t.state}" for t in (*deployments, *provisioned)]
    raise TargetNotUsableError(
        wanted,
        region,
        f"custom model {found.name} in {region} has no Active on-demand deployment and no "
        f"InService provisioned throughput"
        + (f" ({'; '.join(present)})" if present else "")
        + ": deploy it (CreateCustomModelDeployment) or purchase provisioned throughput",
    )


def resolution_of(
    target: Target,
    *,
    model_id: str | None = None,
    lifecycle: tuple[str | None, _dt.datetime | None] = (None, None),
    access: ModelAccess | None = None,
    warnings: Sequence[str] = (),
) -> Resolution:
    """The :class:`Resolution` invoking ``target`` (a usable one, from :func:`choose_target`).

    ``model_id`` defaults to the model behind it: a foundation model's id, or the
    custom model's ARN; else the target's own ARN.
    """
    behind = target.model if target.kind in ("provisioned", "deployment") else None
    note = target.note
    if target.kind == "router" and target.summary is not None:
        note = "the router picks one of: " + ", ".join(_router_models(target.summary))
    return Resolution(
        model_id=model_id or (behind and model_id_from_arn(behind)) or behind or target.arn,
        region=target.region,
        invoke_id=target.arn,
        method=_METHODS[target.kind],
        routes_to=(target.region,),
        lifecycle=lifecycle[0],
        end_of_life=lifecycle[1],
        access=access,
        warnings=tuple(warnings),
        target_kind=target.kind,
        target_name=target.name,
        target_arn=target.arn,
        note=note,
    )


def _router_models(router: Mapping[str, Any]) -> list[str]:
    models = router.get("models") or []
    return [str(m["modelArn"]).rsplit("/", 1)[-1] for m in models if isinstance(m, Mapping)]


def routes_of(
    model: str,
    entry: Mapping[str, Any] | None,
    profiles: Iterable[Mapping[str, Any]],
    targets: Iterable[Target],
) -> list[Route]:
    """Every way to invoke ``model`` (a foundation model id, or a custom model ARN):
    on demand, each profile routing it, each provisioned throughput and deployment
    of it; usable or not, in that order."""
    routes: list[Route] = []
    if "ON_DEMAND" in ((entry or {}).get("inferenceTypesSupported") or []):
        routes.append(Route("on-demand", model, True, "ACTIVE"))
    for profile in profiles:
        status = str(profile.get("status", "ACTIVE"))
        routes.append(
            Route(
                "inference-profile",
                invoke_id_of(profile),
                status == "ACTIVE",
                status,
                str(profile.get("inferenceProfileName") or ""),
                f"{profile.get('type', 'SYSTEM_DEFINED')} profile",
            )
        )
    listed = list(targets)
    mine = [t for t in listed if t.kind == "deployment" and t.model == model]
    return routes + [route_of(t) for t in (*mine, *provisioned_for(model, listed))]
