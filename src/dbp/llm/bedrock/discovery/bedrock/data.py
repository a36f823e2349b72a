"""Plain-data helpers for Bedrock responses (no boto3 needed).

Real inference profiles name their models only by ARN
(``models: [{"modelArn": "arn:aws:bedrock:<region>::foundation-model/<id>"}]``);
the region inside each ARN is a destination region the profile routes to.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "model_id_from_arn",
    "profile_model_ids",
    "profile_regions",
    "profile_routes_model",
    "region_from_arn",
]

_FOUNDATION_MODEL = ":foundation-model/"


def model_id_from_arn(arn: str) -> str | None:
    """The model id of a foundation-model ARN.

    ``arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-v2:1`` gives
    ``anthropic.claude-v2:1``; any other ARN gives ``None``.
    """
    _, sep, model_id = arn.partition(_FOUNDATION_MODEL)
    return model_id if sep and model_id else None


def region_from_arn(arn: str) -> str | None:
    """The region field of an ARN (``arn:partition:service:region:account:resource``)."""
    parts = arn.split(":", 5)
    return parts[3] or None if len(parts) == 6 else None


def _model_arns(profile: Mapping[str, Any]) -> Iterable[str]:
    models = profile.get("models")
    if not isinstance(models, list):
        return ()
    return (
        m["modelArn"]
        for m in models
        if isinstance(m, Mapping) and isinstance(m.get("modelArn"), str)
    )


def profile_model_ids(profile: Mapping[str, Any]) -> list[str]:
    """Distinct model ids a profile routes to, in order of first appearance."""
    ids: dict[str, None] = {}
    for arn in _model_arns(profile):
        model_id = model_id_from_arn(arn)
        if model_id:
            ids[model_id] = None
    return list(ids)


def profile_regions(profile: Mapping[str, Any]) -> list[str]:
    """Destination regions a profile routes to (from its model ARNs), sorted."""
    return sorted({r for arn in _model_arns(profile) if (r := region_from_arn(arn))})


def profile_routes_model(profile: Mapping[str, Any], model: str) -> bool:
    """True when ``profile`` routes to ``model`` (a model id or a foundation-model ARN).

    Matches the ARNs in ``models[].modelArn`` and, for hand-made data, a plain
    ``modelId`` field.
    """
    if not isinstance(profile, Mapping):
        return False
    if profile.get("modelId") == model:
        return True
    wanted = model_id_from_arn(model) or model
    return any(arn == model or model_id_from_arn(arn) == wanted for arn in _model_arns(profile))
