"""The six other kinds of invocation target, and one plain ``Target`` view of them.

[Intent]
Besides foundation models and inference profiles an account can invoke its
provisioned throughput, custom models (through a deployment or a provisioned
throughput), imported models, prompt routers and marketplace endpoints. Each has
its own ``List*`` call, list member, name and status fields; this module says
which, once, and reduces a summary to what a caller needs: the ID to invoke, its
state and whether that state is usable.

[Design principles]
Plain data (no boto3): the summaries are what boto3 returns, kept untouched in
``Target.summary``; unknown states are not usable, and say so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args

__all__ = [
    "KINDS",
    "TARGET_KINDS",
    "Kind",
    "Target",
    "TargetKind",
    "check_kind",
    "to_target",
]

TargetKind = Literal["provisioned", "custom", "deployment", "imported", "router", "marketplace"]
TARGET_KINDS: tuple[str, ...] = get_args(TargetKind)


@dataclass(frozen=True)
class Kind:
    """How one kind is listed and read: its operation, boto3 method and fields."""

    name: TargetKind
    label: str
    operation: str
    method: str
    list_key: str
    arn_field: str
    name_field: str
    status_field: str | None
    usable: frozenset[str]
    model_field: str | None


def _kind(
    name: TargetKind,
    label: str,
    operation: str,
    method: str,
    fields: tuple[str, str, str, str | None],
    usable: tuple[str, ...] = (),
    model: str | None = None,
) -> Kind:
    """``fields``: the list member, and each summary's ARN, name and status fields."""
    return Kind(name, label, operation, method, *fields, frozenset(usable), model)


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        _kind(
            "provisioned",
            "provisioned throughput",
            "ListProvisionedModelThroughputs",
            "list_provisioned_model_throughputs",
            ("provisionedModelSummaries", "provisionedModelArn", "provisionedModelName", "status"),
            usable=("InService", "Updating"),
            model="modelArn",
        ),
        _kind(
            "custom",
            "custom model",
            "ListCustomModels",
            "list_custom_models",
            ("modelSummaries", "modelArn", "modelName", "modelStatus"),
            usable=("Active",),
            model="baseModelArn",
        ),
        _kind(
            "deployment",
            "custom model deployment",
            "ListCustomModelDeployments",
            "list_custom_model_deployments",
            (
                "modelDeploymentSummaries",
                "customModelDeploymentArn",
                "customModelDeploymentName",
                "status",
            ),
            usable=("Active",),
            model="modelArn",
        ),
        _kind(
            "imported",
            "imported model",
            "ListImportedModels",
            "list_imported_models",
            ("modelSummaries", "modelArn", "modelName", None),  # no status: listed is usable
        ),
        _kind(
            "router",
            "prompt router",
            "ListPromptRouters",
            "list_prompt_routers",
            ("promptRouterSummaries", "promptRouterArn", "promptRouterName", "status"),
            usable=("AVAILABLE",),
        ),
        _kind(
            "marketplace",
            "marketplace endpoint",
            "ListMarketplaceModelEndpoints",
            "list_marketplace_model_endpoints",
            ("marketplaceModelEndpoints", "endpointArn", "endpointArn", "status"),
            usable=("REGISTERED",),
            model="modelSourceIdentifier",
        ),
    )
}

#: Why an imported model is special: what its ``note`` says.
IMPORTED_NOTE = "InvokeModel only: Converse does not take imported models"


@dataclass(frozen=True)
class Target:
    """
    [Class intent]
    One invocable thing of an account in a region, whatever its kind.

    [Implementation details]
    ``invoke_id`` is what to pass as ``modelId`` (the resource's ARN); ``None`` when
    the target is not usable, and for a custom model (it is invoked through a
    deployment or provisioned throughput: the resolver picks one). ``state`` is the service's status
    (``None`` for imported models, which have none); ``usable`` is False for
    states such as Creating, Failed or INCOMPATIBLE_ENDPOINT. ``model`` is the
    model behind it (base, custom or hub model ARN) when the summary names one.
    """

    kind: TargetKind
    name: str
    arn: str
    region: str
    state: str | None
    usable: bool
    invoke_id: str | None
    model: str | None = None
    note: str | None = None
    summary: Mapping[str, Any] | None = None

    @property
    def label(self) -> str:
        return KINDS[self.kind].label

    def unusable_reason(self) -> str:
        """One line: why this target cannot be invoked (state and, if any, the service's words)."""
        summary = self.summary or {}
        detail = summary.get("failureMessage") or summary.get("statusMessage")
        text = f"{self.label} {self.name} in {self.region} is {self.state}, not usable"
        return f"{text}: {detail}" if detail else text

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (camelCase like Bedrock's own fields)."""
        return {
            "kind": self.kind,
            "name": self.name,
            "arn": self.arn,
            "region": self.region,
            "invokeId": self.invoke_id,
            "state": self.state,
            "usable": self.usable,
            "model": self.model,
            "note": self.note,
        }


def check_kind(kind: object) -> TargetKind:
    """A clear error for an unknown kind (they are plain strings on the CLI)."""
    if kind not in TARGET_KINDS:
        choices = ", ".join(TARGET_KINDS)
        raise ValueError(f"target kind must be one of {choices}, not {kind!r}")
    found: TargetKind = KINDS[str(kind)].name
    return found


def to_target(kind: TargetKind, summary: Mapping[str, Any], region: str) -> Target:
    """The :class:`Target` view of one ``List*`` summary."""
    spec = KINDS[kind]
    arn = str(summary.get(spec.arn_field, ""))
    name = str(summary.get(spec.name_field) or arn)
    if kind == "marketplace":
        name = arn.rsplit("/", 1)[-1] or arn
    state = summary.get(spec.status_field) if spec.status_field else None
    usable = spec.status_field is None or state in spec.usable
    model = summary.get(spec.model_field) if spec.model_field else None
    return Target(
        kind=kind,
        name=name,
        arn=arn,
        region=region,
        state=None if state is None else str(state),
        usable=usable,
        invoke_id=arn if usable and kind != "custom" else None,
        model=None if model is None else str(model),
        note=IMPORTED_NOTE if kind == "imported" else None,
        summary=summary,
    )
