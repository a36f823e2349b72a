"""The stand-in's catalogue: which models and profiles each region offers.

Plain data shaped like the Bedrock control plane's responses, so tests and
examples can build their own catalogues (``foundation_model``, ``system_profile``,
``application_profile``) or start from :func:`default_catalog`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .targets import default_targets

__all__ = [
    "DEFAULT_ACCOUNT",
    "LEGACY_END_OF_LIFE",
    "RegionCatalog",
    "application_profile",
    "default_catalog",
    "foundation_model",
    "model_availability",
    "system_profile",
]

DEFAULT_ACCOUNT = "111122223333"
_LIFECYCLE_START = "2024-06-01T00:00:00Z"
#: ``endOfLifeTime`` of the default catalogue's LEGACY model (``anthropic.claude-v2:1``).
LEGACY_END_OF_LIFE = "2026-07-21T00:00:00Z"


def foundation_model(
    model_id: str,
    region: str,
    *,
    provider: str | None = None,
    name: str | None = None,
    inference_types: Iterable[str] = ("ON_DEMAND",),
    input_modalities: Iterable[str] = ("TEXT",),
    output_modalities: Iterable[str] = ("TEXT",),
    customizations: Iterable[str] = (),
    streaming: bool = True,
    status: str = "ACTIVE",
    end_of_life: str | None = None,
) -> dict[str, Any]:
    """A ``FoundationModelSummary`` as the service sends it (timestamps as ISO strings).

    ``end_of_life`` (ISO-8601) is the ``modelLifecycle.endOfLifeTime`` a LEGACY model carries.
    """
    vendor = model_id.split(".", 1)[0]
    lifecycle: dict[str, Any] = {"status": status, "startOfLifeTime": _LIFECYCLE_START}
    if end_of_life is not None:
        lifecycle["endOfLifeTime"] = end_of_life
    return {
        "modelArn": f"arn:aws:bedrock:{region}::foundation-model/{model_id}",
        "modelId": model_id,
        "modelName": name or model_id.split(".", 1)[-1].split(":", 1)[0],
        "providerName": provider or vendor.capitalize(),
        "inputModalities": list(input_modalities),
        "outputModalities": list(output_modalities),
        "responseStreamingSupported": streaming,
        "customizationsSupported": list(customizations),
        "inferenceTypesSupported": list(inference_types),
        "modelLifecycle": lifecycle,
    }


def model_availability(
    model_id: str,
    *,
    agreement: str = "AVAILABLE",
    authorization: str = "AUTHORIZED",
    entitlement: str = "AVAILABLE",
    region: str = "AVAILABLE",
    error_message: str | None = None,
) -> dict[str, Any]:
    """A ``GetFoundationModelAvailability`` answer (every field the service model requires)."""
    status: dict[str, Any] = {"status": agreement}
    if error_message is not None:
        status["errorMessage"] = error_message
    return {
        "modelId": model_id,
        "agreementAvailability": status,
        "authorizationStatus": authorization,
        "entitlementAvailability": entitlement,
        "regionAvailability": region,
    }


def system_profile(
    profile_id: str, model_id: str, destinations: Iterable[str], *, account: str = DEFAULT_ACCOUNT
) -> dict[str, Any]:
    """A ``SYSTEM_DEFINED`` (cross-region) inference profile routing ``model_id``."""
    source = next(iter(destinations))
    return {
        "inferenceProfileName": f"{profile_id.split('.', 1)[0].upper()} {model_id}",
        "description": f"Routes requests to {model_id} across regions.",
        "createdAt": "2024-08-27T00:00:00Z",
        "updatedAt": "2024-10-22T12:30:00Z",
        "inferenceProfileArn": f"arn:aws:bedrock:{source}:{account}:inference-profile/{profile_id}",
        "models": [
            {"modelArn": f"arn:aws:bedrock:{r}::foundation-model/{model_id}"} for r in destinations
        ],
        "inferenceProfileId": profile_id,
        "status": "ACTIVE",
        "type": "SYSTEM_DEFINED",
    }


def application_profile(name: str, model_id: str, region: str, account: str) -> dict[str, Any]:
    """An ``APPLICATION`` inference profile owned by ``account``."""
    profile_id = f"app-{name}"
    return {
        "inferenceProfileName": name,
        "description": f"Application profile {name} of account {account}",
        "createdAt": "2025-01-15T08:00:00Z",
        "updatedAt": "2025-01-15T08:00:00Z",
        "inferenceProfileArn": (
            f"arn:aws:bedrock:{region}:{account}:application-inference-profile/{profile_id}"
        ),
        "models": [{"modelArn": f"arn:aws:bedrock:{region}::foundation-model/{model_id}"}],
        "inferenceProfileId": profile_id,
        "status": "ACTIVE",
        "type": "APPLICATION",
    }


@dataclass
class RegionCatalog:
    """What one region offers: foundation models, system-defined profiles, other targets.

    ``targets`` holds the summaries of the six other ``List*`` operations by
    operation name (see :mod:`.targets`); each is visible to the account its ARN
    names (default prompt routers: to every account). ``access`` holds
    ``GetFoundationModelAvailability`` answers that differ from "available and
    authorized" (built with :func:`model_availability`), by model id, for every account;
    a model the region does not list is ``NOT_AVAILABLE`` there.
    """

    models: list[dict[str, Any]] = field(default_factory=list)
    profiles: list[dict[str, Any]] = field(default_factory=list)
    access: dict[str, dict[str, Any]] = field(default_factory=dict)
    targets: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


_US = ("us-east-1", "us-east-2", "us-west-2")
_EU = ("eu-central-1", "eu-west-1", "eu-west-3")
_AP = ("ap-northeast-1", "ap-southeast-2")
_CLAUDE = "anthropic.claude-3-5-sonnet-20241022-v2:0"
_HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
_LLAMA = "meta.llama3-2-1b-instruct-v1:0"
_NOVA = "amazon.nova-pro-v1:0"


def default_catalog() -> dict[str, RegionCatalog]:
    """A small, realistic catalogue over eight regions.

    Includes models invocable on demand, a model reachable only through an
    inference profile (``INFERENCE_PROFILE``), models offered only in the US or only
    in Europe, an unknown enum value (``BATCH_V2``), a LEGACY model with an end-of-life
    date, a model the account is not authorized to use (Llama: no agreement
    accepted), a global profile routing to more than five regions, and in
    us-east-1 every state of the other invocation targets (:func:`.targets.default_targets`).
    """
    catalog: dict[str, RegionCatalog] = {}
    everywhere = (*_US, *_EU, *_AP)
    for region in everywhere:
        models = [
            foundation_model(
                "amazon.titan-text-express-v1",
                region,
                provider="Amazon",
                name="Titan Text G1 - Express",
                inference_types=("ON_DEMAND",),
                customizations=("FINE_TUNING",),
            ),
            foundation_model(
                _HAIKU,
                region,
                provider="Anthropic",
                name="Claude 3 Haiku",
                input_modalities=("TEXT", "IMAGE"),
                inference_types=("ON_DEMAND", "INFERENCE_PROFILE"),
            ),
            foundation_model(
                "cohere.embed-english-v3",
                region,
                provider="Cohere",
                name="Embed English",
                output_modalities=("EMBEDDING",),
                inference_types=("ON_DEMAND", "BATCH_V2"),
                streaming=False,
            ),
        ]
        access: dict[str, dict[str, Any]] = {}
        profiles = [
            system_profile(
                f"global.{_NOVA}", _NOVA, (region, *(r for r in everywhere if r != region))
            )
        ]
        models.append(
            foundation_model(
                _NOVA,
                region,
                provider="Amazon",
                name="Nova Pro",
                input_modalities=("TEXT", "IMAGE", "VIDEO"),
                inference_types=("INFERENCE_PROFILE",),
            )
        )
        if region in _US:
            models.append(
                foundation_model(
                    _CLAUDE,
                    region,
                    provider="Anthropic",
                    name="Claude 3.5 Sonnet v2",
                    input_modalities=("TEXT", "IMAGE"),
                    inference_types=("INFERENCE_PROFILE",),
                )
            )
            models.append(
                foundation_model(
                    _LLAMA,
                    region,
                    provider="Meta",
                    name="Llama 3.2 1B Instruct",
                    inference_types=("INFERENCE_PROFILE",),
                )
            )
            access[_LLAMA] = model_availability(
                _LLAMA, agreement="NOT_AVAILABLE", authorization="NOT_AUTHORIZED"
            )
            profiles += [
                system_profile(f"us.{_CLAUDE}", _CLAUDE, _US),
                system_profile(f"us.{_HAIKU}", _HAIKU, _US),
                system_profile(f"us.{_LLAMA}", _LLAMA, _US),
            ]
        if region in _EU:
            profiles += [system_profile(f"eu.{_HAIKU}", _HAIKU, _EU)]
            models.append(
                foundation_model(
                    "anthropic.claude-v2:1",
                    region,
                    provider="Anthropic",
                    name="Claude",
                    status="LEGACY",
                    end_of_life=LEGACY_END_OF_LIFE,
                )
            )
        if region in _AP:
            profiles += [system_profile(f"apac.{_HAIKU}", _HAIKU, _AP)]
        targets = default_targets(region, DEFAULT_ACCOUNT) if region == _US[0] else {}
        catalog[region] = RegionCatalog(models, profiles, access, targets)
    return catalog
