"""Every answer the Bedrock stand-in gives conforms to botocore's service model for ``bedrock``."""

from __future__ import annotations

import contextlib
import http.client
import json
import re
from urllib.parse import urlsplit

import pytest

from dbp.llm.bedrock.discovery.testing import FakeBedrockServer
from dbp.llm.bedrock.discovery.testing.wire import operation_of
from stand_in_contract import KNOWN_EXCEEDED, problems, service_model

_SERVICE = re.compile(r"Credential=[^/]+/\d{8}/[^/]+/([^/]+)/aws4_request")
HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
TITAN_ARN = "arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-text-express-v1"
PAGINATED = {
    "list_inference_profiles": ({}, {"typeEquals": "APPLICATION"}),
    "list_provisioned_model_throughputs": (
        {},
        {"statusEquals": "InService"},
        {"modelArnEquals": TITAN_ARN, "sortBy": "CreationTime", "sortOrder": "Descending"},
        {"nameContains": "bot"},
    ),
    "list_custom_models": (
        {},
        {"modelStatus": "Active", "baseModelArnEquals": TITAN_ARN},
        {"foundationModelArnEquals": TITAN_ARN, "nameContains": "faq"},
    ),
    "list_custom_model_deployments": ({}, {"statusEquals": "Active"}, {"nameContains": "bot"}),
    "list_imported_models": ({}, {"nameContains": "llama"}),
    "list_prompt_routers": ({}, {"type": "custom"}, {"type": "default"}),
    "list_marketplace_model_endpoints": ({},),
}


@pytest.fixture
def recorded(aws_env):
    """The stand-in, with every answer it gives recorded as ``(operation, status, headers, body)``."""
    server = FakeBedrockServer(page_size_cap=2)
    answers = []
    handle = server.handle

    def recording(method, target, auth, body):
        answer = handle(method, target, auth, body)
        found = _SERVICE.search(auth)
        operation = operation_of(method, urlsplit(target).path, found.group(1) if found else "?")
        answers.append((operation, *answer))
        return answer

    server.handle = recording
    with server:
        yield server, answers


def _raw_get(url: str, path: str) -> None:
    host, port = urlsplit(url).netloc.split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=5)
    auth = "AWS4-HMAC-SHA256 Credential=AKID/20250101/us-east-1/bedrock/aws4_request"
    conn.request("GET", path, headers={"Authorization": auth})
    conn.getresponse().read()
    conn.close()


def _drive(server: FakeBedrockServer, session) -> None:
    """Every operation, filter, page, state and error the stand-in can answer with."""
    from botocore.exceptions import ClientError

    server.add_application_profile("111122223333", "us-east-1", "my-app", HAIKU)
    for region in (*server.catalog, "af-south-1"):
        client = session.client("bedrock", region_name=region, endpoint_url=server.url)
        calls = [
            lambda c=client: c.list_foundation_models(),
            lambda c=client: c.list_foundation_models(byProvider="anthropic"),
            lambda c=client: c.list_foundation_models(byOutputModality="EMBEDDING"),
            lambda c=client: c.list_foundation_models(
                byInferenceType="PROVISIONED", byCustomizationType="FINE_TUNING"
            ),
            lambda c=client: c.get_foundation_model(modelIdentifier=HAIKU),
            lambda c=client: c.get_foundation_model(modelIdentifier="nobody.nothing-v1"),
            lambda c=client: c.get_inference_profile(inferenceProfileIdentifier=f"us.{HAIKU}"),
            lambda c=client: c.get_inference_profile(inferenceProfileIdentifier="eu.missing"),
        ]
        calls += [
            lambda c=client, m=m: c.get_foundation_model_availability(modelId=m)
            for m in (HAIKU, "meta.llama3-2-1b-instruct-v1:0", "anthropic.claude-v2:1", "x.y")
        ]
        for method, variants in PAGINATED.items():
            for kwargs in variants:
                paginator = client.get_paginator(method)
                calls.append(lambda p=paginator, k=kwargs: list(p.paginate(**k)))
        for call in calls:
            with contextlib.suppress(ClientError):
                call()
    server.set_access(HAIKU, agreement="PENDING")
    server.throttle("us-east-1", times=1)
    server.deny("us-west-2", operation="ListPromptRouters")
    server.fail("eu-west-1", 500, "InternalServerException", times=1)
    client = session.client("bedrock", region_name="us-east-1", endpoint_url=server.url)
    for call in (
        client.list_foundation_models,
        lambda: client.get_foundation_model_availability(modelId=HAIKU),
        lambda: session.client(
            "bedrock", region_name="us-west-2", endpoint_url=server.url
        ).list_prompt_routers(),
        lambda: session.client(
            "bedrock", region_name="eu-west-1", endpoint_url=server.url
        ).list_custom_models(),
    ):
        with contextlib.suppress(ClientError):
            call()
    # What boto3 refuses to send (it validates maxResults), the service answers with 400.
    _raw_get(server.url, "/provisioned-model-throughputs?maxResults=0")
    _raw_get(server.url, "/custom-models?nextToken=%%%")


def test_every_answer_conforms_to_botocores_service_model(recorded, session):
    server, answers = recorded
    _drive(server, session)
    model = service_model()
    seen, errors, found = set(), set(), []
    for operation, status, headers, body in answers:
        if operation == "GetCallerIdentity":
            continue
        data = json.loads(body)
        if status == 200:
            seen.add(operation)
            shape = model.operation_model(operation).output_shape
            found += [f"{operation}: {p}" for p in problems(shape, data)]
        else:
            code = headers["x-amzn-ErrorType"].split(":", 1)[0]
            errors.add(code)
            assert set(data) == {"message"} and isinstance(data["message"], str), (code, data)
            shape = next((s for s in model.error_shapes if s.name == code), None)
            if shape is not None:
                assert shape.metadata["error"]["httpStatusCode"] == status, (code, status)
                found += [f"{operation} {code}: {p}" for p in problems(shape, data)]
    assert not found, "\n".join(found)
    assert len(answers) > 250  # every region, operation, filter and page
    operations = {
        "ListFoundationModels",
        "GetFoundationModel",
        "GetFoundationModelAvailability",
        "ListInferenceProfiles",
        "GetInferenceProfile",
        "ListProvisionedModelThroughputs",
        "ListCustomModels",
        "ListCustomModelDeployments",
        "ListImportedModels",
        "ListPromptRouters",
        "ListMarketplaceModelEndpoints",
    }
    assert seen == operations
    assert errors >= {
        "ResourceNotFoundException",
        "ThrottlingException",
        "AccessDeniedException",
        "InternalServerException",
        "ValidationException",
        "UnrecognizedClientException",
    }


def test_the_checker_catches_what_it_promises_to():
    model = service_model()
    listing = model.operation_model("ListProvisionedModelThroughputs").output_shape
    summary = {
        "provisionedModelName": "p",
        "provisionedModelArn": "arn:aws:bedrock:us-east-1:111122223333:provisioned-model/a",
        "modelArn": TITAN_ARN,
        "desiredModelArn": TITAN_ARN,
        "foundationModelArn": TITAN_ARN,
        "modelUnits": 1,
        "desiredModelUnits": 1,
        "status": "InService",
        "creationTime": "2025-03-01T09:00:00Z",
        "lastModifiedTime": "2025-03-01T09:00:00Z",
    }
    assert problems(listing, {"provisionedModelSummaries": [summary]}) == []
    broken = {**summary, "status": "Running", "modelUnits": "1", "creationTime": 1740819600}
    del broken["modelArn"]
    broken["extra"] = True
    text = "\n".join(problems(listing, {"provisionedModelSummaries": [broken]}))
    assert "required member 'modelArn' missing" in text
    assert "unknown member 'extra'" in text
    assert "'Running' is not one of" in text
    assert "expected an integer, got '1'" in text
    assert "1740819600 is not an ISO-8601 timestamp" in text


def test_values_real_aws_sends_beyond_botocores_rules_are_accepted_and_only_those():
    model = service_model()
    summary = model.shape_for("FoundationModelSummary")
    wild = {
        "modelArn": "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-reel-v1:0",
        "modelId": "amazon.nova-reel-v1:0",
        "modelName": "A model name longer than twenty characters",
        "inferenceTypesSupported": ["INFERENCE_PROFILE"],
        "outputModalities": ["VIDEO"],
        "modelLifecycle": {"status": "RETIRED"},
    }
    assert problems(summary, wild) == ["$.modelLifecycle.status: 'RETIRED' is not one of "
                                       "['ACTIVE', 'LEGACY'] (FoundationModelLifecycleStatus)"]  # fmt: skip
    assert {"InferenceType", "ModelModality"} <= KNOWN_EXCEEDED
