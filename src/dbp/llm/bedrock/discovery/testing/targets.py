"""The stand-in's other invocation targets: provisioned throughput, custom and imported
models, deployments, prompt routers and marketplace endpoints.

Plain data shaped like the six ``List*`` responses' summaries (timestamps as ISO
strings), keyed by operation name, so :class:`~.catalogue.RegionCatalog` can hold
them and tests can build their own with the helpers below.
"""

from __future__ import annotations

import hashlib
from typing import Any

__all__ = [
    "LIST_KEYS",
    "custom_model",
    "default_targets",
    "deployment",
    "imported_model",
    "marketplace_endpoint",
    "prompt_router",
    "provisioned_throughput",
]

#: The list member of each paginated ``List*`` answer.
LIST_KEYS = {
    "ListInferenceProfiles": "inferenceProfileSummaries",
    "ListProvisionedModelThroughputs": "provisionedModelSummaries",
    "ListCustomModels": "modelSummaries",
    "ListCustomModelDeployments": "modelDeploymentSummaries",
    "ListImportedModels": "modelSummaries",
    "ListPromptRouters": "promptRouterSummaries",
    "ListMarketplaceModelEndpoints": "marketplaceModelEndpoints",
}

_CREATED = "2025-03-01T09:00:00Z"
_UPDATED = "2025-03-02T10:30:00Z"


def _suffix(name: str) -> str:
    """The 12-character resource id AWS puts at the end of these ARNs."""
    return hashlib.sha256(name.encode()).hexdigest()[:12]


def _fm_arn(region: str, model_id: str) -> str:
    return f"arn:aws:bedrock:{region}::foundation-model/{model_id}"


def custom_model_arn(region: str, account: str, name: str, base_model: str | None) -> str:
    """``custom-model/<base model>/<id>``, or ``custom-model/imported/<id>`` when imported."""
    base = "imported" if base_model is None else base_model.split(":", 1)[0]
    return f"arn:aws:bedrock:{region}:{account}:custom-model/{base}/{_suffix(name)}"


def provisioned_throughput(
    name: str,
    region: str,
    account: str,
    *,
    model_arn: str,
    foundation_model: str,
    status: str = "InService",
    units: int = 1,
    commitment: str | None = "OneMonth",
) -> dict[str, Any]:
    """A ``ProvisionedModelSummary`` (``model_arn``: a foundation or custom model ARN)."""
    summary: dict[str, Any] = {
        "provisionedModelName": name,
        "provisionedModelArn": (
            f"arn:aws:bedrock:{region}:{account}:provisioned-model/{_suffix(name)}"
        ),
        "modelArn": model_arn,
        "desiredModelArn": model_arn,
        "foundationModelArn": _fm_arn(region, foundation_model),
        "modelUnits": units,
        "desiredModelUnits": units,
        "status": status,
        "creationTime": _CREATED,
        "lastModifiedTime": _UPDATED,
    }
    if commitment is not None:
        summary["commitmentDuration"] = commitment
        summary["commitmentExpirationTime"] = "2026-12-31T00:00:00Z"
    return summary


def custom_model(
    name: str,
    region: str,
    account: str,
    *,
    base_model: str | None,
    customization: str = "FINE_TUNING",
    status: str = "Active",
) -> dict[str, Any]:
    """A ``CustomModelSummary``; ``base_model=None`` with ``customization="IMPORTED"``."""
    base = base_model or "meta.llama3-8b-instruct-v1:0"
    return {
        "modelArn": custom_model_arn(region, account, name, base_model),
        "modelName": name,
        "creationTime": _CREATED,
        "baseModelArn": _fm_arn(region, base),
        "baseModelName": base.split(":", 1)[0],
        "customizationType": customization,
        "ownerAccountId": account,
        "modelStatus": status,
    }


def deployment(
    name: str,
    region: str,
    account: str,
    *,
    model_arn: str,
    status: str = "Active",
    failure: str | None = None,
) -> dict[str, Any]:
    """A ``CustomModelDeploymentSummary``: an on-demand deployment of a custom model."""
    summary: dict[str, Any] = {
        "customModelDeploymentArn": (
            f"arn:aws:bedrock:{region}:{account}:custom-model-deployment/{_suffix(name)}"
        ),
        "customModelDeploymentName": name,
        "modelArn": model_arn,
        "createdAt": _CREATED,
        "status": status,
        "lastUpdatedAt": _UPDATED,
    }
    if failure is not None:
        summary["failureMessage"] = failure
    return summary


def imported_model(
    name: str, region: str, account: str, *, architecture: str = "llama3"
) -> dict[str, Any]:
    """An ``ImportedModelSummary`` (Custom Model Import)."""
    return {
        "modelArn": f"arn:aws:bedrock:{region}:{account}:imported-model/{_suffix(name)}",
        "modelName": name,
        "creationTime": _CREATED,
        "instructSupported": True,
        "modelArchitecture": architecture,
    }


def prompt_router(
    name: str,
    region: str,
    account: str,
    *,
    models: tuple[str, ...],
    fallback: str,
    router_type: str = "custom",
    default_id: str | None = None,
) -> dict[str, Any]:
    """A ``PromptRouterSummary``; a default router's ARN is ``default-prompt-router/<default_id>``.

    ``models`` and ``fallback`` are inference-profile ids the router chooses between.
    """

    def target(profile_id: str) -> dict[str, str]:
        return {"modelArn": f"arn:aws:bedrock:{region}:{account}:inference-profile/{profile_id}"}

    resource = (
        f"default-prompt-router/{default_id or name}"
        if router_type == "default"
        else f"prompt-router/{_suffix(name)}"
    )
    return {
        "promptRouterName": name,
        "routingCriteria": {"responseQualityDifference": 0.25},
        "description": f"Routes between {len(models)} models",
        "createdAt": _CREATED,
        "updatedAt": _UPDATED,
        "promptRouterArn": f"arn:aws:bedrock:{region}:{account}:{resource}",
        "models": [target(m) for m in models],
        "fallbackModel": target(fallback),
        "status": "AVAILABLE",
        "type": router_type,
    }


def marketplace_endpoint(
    name: str, region: str, account: str, *, hub_model: str, status: str = "REGISTERED"
) -> dict[str, Any]:
    """A ``MarketplaceModelEndpointSummary`` (a SageMaker endpoint registered with Bedrock)."""
    summary: dict[str, Any] = {
        "endpointArn": f"arn:aws:sagemaker:{region}:{account}:endpoint/{name}",
        "modelSourceIdentifier": (
            f"arn:aws:sagemaker:{region}:aws:hub-content/SageMakerPublicHub/Model/{hub_model}/1.0.0"
        ),
        "status": status,
        "createdAt": _CREATED,
        "updatedAt": _UPDATED,
    }
    if status != "REGISTERED":
        summary["statusMessage"] = "The endpoint's model is not compatible with Bedrock."
    return summary


_HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
_SONNET = "anthropic.claude-3-5-sonnet-20241022-v2:0"
_TITAN = "amazon.titan-text-express-v1"
_NOVA = "amazon.nova-pro-v1:0"


def default_targets(region: str, account: str) -> dict[str, list[dict[str, Any]]]:
    """Every state of every kind, for the default catalogue's first region.

    Provisioned throughput InService / Updating / Creating / Failed; custom models
    reached through an Active deployment, through provisioned throughput only, through
    neither (a Creating deployment), still Creating, and imported; an imported model;
    a default and a custom prompt router; a REGISTERED and an INCOMPATIBLE_ENDPOINT
    marketplace endpoint.
    """
    support = custom_model("support-bot", region, account, base_model=_TITAN)
    faq = custom_model("faq-bot", region, account, base_model=_TITAN, customization="DISTILLATION")
    draft = custom_model(
        "draft-bot", region, account, base_model=_TITAN, customization="CONTINUED_PRE_TRAINING"
    )
    training = custom_model("training-bot", region, account, base_model=_TITAN, status="Creating")
    imported = custom_model(
        "llama-import", region, account, base_model=None, customization="IMPORTED"
    )

    def provisioned(name: str, model_arn: str, base: str, status: str) -> dict[str, Any]:
        return provisioned_throughput(
            name, region, account, model_arn=model_arn, foundation_model=base, status=status
        )

    return {
        "ListProvisionedModelThroughputs": [
            provisioned("haiku-pt", _fm_arn(region, _HAIKU), _HAIKU, "InService"),
            provisioned("titan-pt", _fm_arn(region, _TITAN), _TITAN, "Updating"),
            provisioned("nova-pt", _fm_arn(region, _NOVA), _NOVA, "Creating"),
            provisioned("support-bot-pt", support["modelArn"], _TITAN, "InService"),
            provisioned("old-pt", _fm_arn(region, _TITAN), _TITAN, "Failed"),
        ],
        "ListCustomModels": [support, faq, draft, training, imported],
        "ListCustomModelDeployments": [
            deployment("faq-bot-prod", region, account, model_arn=faq["modelArn"]),
            deployment(
                "support-bot-old",
                region,
                account,
                model_arn=support["modelArn"],
                status="Failed",
                failure="Deployment failed: quota exceeded.",
            ),
            deployment(
                "draft-bot-dev", region, account, model_arn=draft["modelArn"], status="Creating"
            ),
        ],
        "ListImportedModels": [imported_model("my-llama", region, account)],
        "ListPromptRouters": [
            prompt_router(
                "Anthropic Prompt Router",
                region,
                account,
                models=(f"us.{_HAIKU}", f"us.{_SONNET}"),
                fallback=f"us.{_HAIKU}",
                router_type="default",
                default_id="anthropic.claude:1",
            ),
            prompt_router(
                "my-router",
                region,
                account,
                models=(f"us.{_HAIKU}", f"us.{_SONNET}"),
                fallback=f"us.{_HAIKU}",
            ),
        ],
        "ListMarketplaceModelEndpoints": [
            marketplace_endpoint("solar-pro", region, account, hub_model="upstage-solar-pro"),
            marketplace_endpoint(
                "old-endpoint",
                region,
                account,
                hub_model="legacy-model",
                status="INCOMPATIBLE_ENDPOINT",
            ),
        ],
    }
