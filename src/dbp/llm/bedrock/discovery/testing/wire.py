"""The stand-in's HTTP dialect: which operation a request is, and answers as botocore parses them.

JSON bodies for Bedrock (errors as ``x-amzn-ErrorType`` plus ``{"message": ...}``),
XML for STS; plain functions, so the server module keeps only state and routing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = [
    "TARGET_PATHS",
    "Answer",
    "caller_identity",
    "error",
    "json_answer",
    "model_matches",
    "operation_of",
]

#: ``(status, headers, body)``.
Answer = tuple[int, dict[str, str], bytes]


#: REST paths of the paginated target listings.
TARGET_PATHS = {
    "/provisioned-model-throughputs": "ListProvisionedModelThroughputs",
    "/custom-models": "ListCustomModels",
    "/model-customization/custom-model-deployments": "ListCustomModelDeployments",
    "/imported-models": "ListImportedModels",
    "/prompt-routers": "ListPromptRouters",
    "/marketplace-model/endpoints": "ListMarketplaceModelEndpoints",
}


def operation_of(method: str, path: str, service: str) -> str:
    if method == "POST" and service == "sts":
        return "GetCallerIdentity"
    if path in TARGET_PATHS:
        return TARGET_PATHS[path]
    if path == "/foundation-models":
        return "ListFoundationModels"
    if path.startswith("/foundation-models/"):
        return "GetFoundationModel"
    if path.startswith("/foundation-model-availability/"):
        return "GetFoundationModelAvailability"
    if path == "/inference-profiles":
        return "ListInferenceProfiles"
    if path.startswith("/inference-profiles/"):
        return "GetInferenceProfile"
    return f"{method} {path}"


def model_matches(model: Mapping[str, Any], query: Mapping[str, str]) -> bool:
    provider = query.get("byProvider")
    if provider and model["providerName"].lower() != provider.lower():
        return False
    checks = (
        ("byOutputModality", "outputModalities"),
        ("byInferenceType", "inferenceTypesSupported"),
        ("byCustomizationType", "customizationsSupported"),
    )
    return all(query.get(arg) is None or query[arg] in model[field] for arg, field in checks)


def json_answer(payload: Any, status: int = 200) -> Answer:
    return status, {"Content-Type": "application/json"}, json.dumps(payload).encode()


def error(status: int, code: str, message: str) -> Answer:
    headers = {"Content-Type": "application/json", "x-amzn-ErrorType": f"{code}:http://internal/"}
    return status, headers, json.dumps({"message": message}).encode()


def caller_identity(access_key: str, account: str) -> Answer:
    body = (
        '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
        "<GetCallerIdentityResult>"
        f"<Arn>arn:aws:iam::{account}:user/{access_key}</Arn>"
        f"<UserId>{access_key}</UserId><Account>{account}</Account>"
        "</GetCallerIdentityResult>"
        "<ResponseMetadata><RequestId>fake-request</RequestId></ResponseMetadata>"
        "</GetCallerIdentityResponse>"
    )
    return 200, {"Content-Type": "text/xml"}, body.encode()
