"""BedrockResolver: what to invoke for a model from a region, through real boto3 clients."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging

import pytest

from dbp.llm.bedrock.discovery import BedrockResolver, ModelNotAvailableError
from dbp.llm.bedrock.discovery.bedrock.errors import RegionUnavailableError
from dbp.llm.bedrock.discovery.testing import (
    DEFAULT_ACCOUNT,
    FakeBedrockServer,
    RegionCatalog,
    foundation_model,
    system_profile,
)

HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
SONNET = "anthropic.claude-3-5-sonnet-20241022-v2:0"  # profile-only, US regions only
NOVA = "amazon.nova-pro-v1:0"  # profile-only, one global profile
LLAMA = "meta.llama3-2-1b-instruct-v1:0"  # profile-only, account not authorized
CLAUDE_V2 = "anthropic.claude-v2:1"  # LEGACY, Europe only
US = ("us-east-1", "us-east-2", "us-west-2")
REGIONS = [*US, "eu-central-1", "eu-west-1", "eu-west-3", "ap-northeast-1", "ap-southeast-2"]


@pytest.fixture
def make_resolver(on_stand_in):
    def make(**kwargs):
        kwargs.setdefault("regions", REGIONS)
        return on_stand_in(BedrockResolver, **kwargs)

    return make


def test_an_on_demand_model_resolves_to_its_own_id(make_resolver):
    found = make_resolver().resolve(HAIKU, "us-east-1")
    assert (found.model_id, found.invoke_id, found.method) == (HAIKU, HAIKU, "on-demand")
    assert found.routes_to == ("us-east-1",)
    assert found.profile_id is found.profile_arn is None
    assert (found.lifecycle, found.end_of_life) == ("ACTIVE", None)
    assert found.access.status == "allowed" and found.invocable and found.reason is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        found.invoke_id = "other"  # type: ignore[misc]


def test_a_profile_only_model_resolves_to_the_geographic_profile_of_the_region(make_resolver):
    found = make_resolver().resolve(SONNET, "us-west-2")
    assert found.invoke_id == f"us.{SONNET}"
    assert found.method == "inference-profile" and found.profile_type == "SYSTEM_DEFINED"
    assert found.profile_arn == (
        f"arn:aws:bedrock:us-west-2:{DEFAULT_ACCOUNT}:inference-profile/us.{SONNET}"
    )
    assert found.routes_to == US
    assert found.invocable


def euro_catalog():
    """A profile-only model with a geographic and a global profile in eu-west-1."""
    model = "vendor.model-v1:0"
    eu = ("eu-west-1", "eu-central-1")
    return model, {
        "eu-west-1": RegionCatalog(
            models=[foundation_model(model, "eu-west-1", inference_types=("INFERENCE_PROFILE",))],
            profiles=[
                system_profile(f"global.{model}", model, ("eu-west-1", "us-east-1", "ap-south-1")),
                system_profile(f"eu.{model}", model, eu),
            ],
        )
    }


def test_geographic_before_global_unless_the_caller_prefers_global(
    aws_env, session, cache, fast_retry
):
    model, catalog = euro_catalog()
    with FakeBedrockServer(catalog) as server:
        resolver = BedrockResolver(
            session, endpoint_url=server.url, cache=cache, retry=fast_retry, regions=["eu-west-1"]
        )
        assert resolver.resolve(model, "eu-west-1").invoke_id == f"eu.{model}"
        preferred = resolver.resolve(model, "eu-west-1", prefer="global")
        assert preferred.invoke_id == f"global.{model}"
        assert preferred.routes_to == ("ap-south-1", "eu-west-1", "us-east-1")


def test_with_only_a_global_profile_that_is_the_answer_whatever_the_preference(make_resolver):
    resolver = make_resolver()
    for prefer in ("geo", "global", "application"):
        found = resolver.resolve(NOVA, "eu-west-1", prefer=prefer)
        assert found.invoke_id == f"global.{NOVA}"
        assert len(found.routes_to) == 8


def test_the_callers_application_profile_when_asked(make_resolver, fake_bedrock):
    mine = fake_bedrock.add_application_profile(DEFAULT_ACCOUNT, "us-east-1", "my-app", HAIKU)
    resolver = make_resolver()
    assert resolver.resolve(HAIKU, "us-east-1").method == "on-demand"
    found = resolver.resolve(HAIKU, "us-east-1", prefer="application")
    assert found.invoke_id == mine["inferenceProfileArn"]  # Bedrock takes the ARN for these
    assert found.profile_id == "app-my-app" and found.profile_type == "APPLICATION"
    assert resolver.resolve(found.invoke_id, "us-east-1") == found
    # No application profile routes Sonnet: the preference falls back to the system one.
    assert resolver.resolve(SONNET, "us-east-1", prefer="application").invoke_id == f"us.{SONNET}"


def test_every_input_form_gives_the_same_answer_and_resolving_is_idempotent(make_resolver):
    resolver = make_resolver()
    expected = resolver.resolve(SONNET, "us-east-1")
    forms = [
        f"arn:aws:bedrock:us-east-1::foundation-model/{SONNET}",
        f"us.{SONNET}",
        expected.profile_arn,
        f"arn:aws:bedrock:us-west-2:{DEFAULT_ACCOUNT}:inference-profile/us.{SONNET}",
    ]
    for form in forms:
        assert resolver.resolve(form, "us-east-1") == expected, form
    for model, region in ((HAIKU, "eu-west-1"), (NOVA, "ap-northeast-1"), (CLAUDE_V2, "eu-west-3")):
        once = resolver.resolve(model, region)
        assert resolver.resolve(once.invoke_id, region) == once


def test_a_legacy_model_resolves_with_a_warning_naming_its_end_of_life(
    make_resolver, discovery_log
):
    found = make_resolver().resolve(CLAUDE_V2, "eu-west-1")
    assert found.lifecycle == "LEGACY" and found.invocable
    assert found.end_of_life == dt.datetime(2026, 7, 21, tzinfo=dt.timezone.utc)
    legacy = f"{CLAUDE_V2} is LEGACY (end of life 2026-07-21); plan a move to a newer model"
    assert found.warnings == (legacy,)
    warned = [r for r in discovery_log.records if r.levelno == logging.WARNING]
    assert [r.getMessage() for r in warned] == list(found.warnings)


def test_a_model_the_region_does_not_offer_names_the_regions_that_do(make_resolver, fake_bedrock):
    resolver = make_resolver()
    resolver.latency.record("us-east-2", 5.0)  # the slowest, whatever the machine's load
    with pytest.raises(ModelNotAvailableError) as raised:
        resolver.resolve(SONNET, "eu-west-1")
    error = raised.value
    assert not isinstance(error, KeyError)
    assert (error.model, error.region) == (SONNET, "eu-west-1")
    assert set(error.available_in) == set(US) and error.available_in[-1] == "us-east-2"
    assert str(error) == (
        f"{SONNET} is not available in eu-west-1 (not offered there, on demand or through an "
        f"inference profile); regions that offer it: {', '.join(error.available_in)}"
    )
    fake_bedrock.reset_counts()
    with pytest.raises(ModelNotAvailableError, match="regions that offer it"):
        resolver.resolve(SONNET, "eu-west-1")
    assert fake_bedrock.count() == 0  # the scan behind the message is cached too

    with pytest.raises(ModelNotAvailableError, match="no scanned region offers it"):
        resolver.resolve("vendor.no-such-model-v1:0", "us-east-1")
    with pytest.raises(ModelNotAvailableError, match="no inference profile by that ARN"):
        resolver.resolve(
            f"arn:aws:bedrock:us-east-1:{DEFAULT_ACCOUNT}:application-inference-profile/nope",
            "us-east-1",
        )


def test_a_model_offered_only_with_provisioned_throughput_has_no_route(
    aws_env, session, cache, fast_retry
):
    model = "vendor.big-v1:0"
    catalog = {
        "us-east-1": RegionCatalog(
            models=[foundation_model(model, "us-east-1", inference_types=("PROVISIONED",))]
        )
    }
    with FakeBedrockServer(catalog) as server:
        resolver = BedrockResolver(
            session, endpoint_url=server.url, cache=cache, retry=fast_retry, regions=["us-east-1"]
        )
        with pytest.raises(ModelNotAvailableError, match="only with Provisioned Throughput"):
            resolver.resolve(model, "us-east-1")


def test_a_model_the_account_may_not_use_resolves_but_is_not_invocable(make_resolver):
    found = make_resolver().resolve(LLAMA, "us-east-1")
    assert found.invoke_id == f"us.{LLAMA}"
    assert found.access.status == "denied" and not found.invocable
    assert found.reason == (
        f"account {DEFAULT_ACCOUNT} may not use {LLAMA} in us-east-1: not authorized "
        "(authorizationStatus NOT_AUTHORIZED); no agreement accepted: request model access "
        "(agreementAvailability NOT_AVAILABLE)"
    )


def test_a_caller_without_access_permission_still_gets_a_resolution(
    make_resolver, fake_bedrock, discovery_log
):
    for region in US:
        fake_bedrock.deny(region, operation="GetFoundationModelAvailability")
    resolver = make_resolver()
    found = resolver.resolve(SONNET, "us-east-1")
    assert found.invoke_id == f"us.{SONNET}" and found.invocable
    assert found.access.status == "unknown"
    assert found.warnings[0].startswith("access unknown: ")
    assert len(resolver.resolve_all(HAIKU, US)) == 3
    warnings = [r for r in discovery_log.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "'unknown'" in warnings[0].getMessage()


def test_a_warm_resolve_makes_no_api_call(make_resolver, make_cache, fake_bedrock):
    cases = [(HAIKU, "us-east-1"), (SONNET, "us-east-2"), (NOVA, "eu-west-1"), (LLAMA, "us-west-2")]
    cold = make_resolver()
    answers = [cold.resolve(m, r) for m, r in cases]
    assert cold.api_calls == fake_bedrock.count() > 0
    fake_bedrock.reset_counts()

    assert [cold.resolve(m, r) for m, r in cases] == answers  # memory
    restarted = make_resolver(cache=make_cache())  # a new process: disk only
    assert [restarted.resolve(m, r) for m, r in cases] == answers
    assert fake_bedrock.count() == 0
    assert restarted.api_calls == 0


def test_resolve_all_lists_every_region_fastest_first(make_resolver, fake_bedrock):
    # Well above a cold client's first request on a loaded machine, and apart.
    for region, delay in (("us-west-2", 0.6), ("ap-northeast-1", 1.2)):
        fake_bedrock.delay(region, delay)
    fake_bedrock.deny("eu-west-3")
    resolver = make_resolver()
    found = resolver.resolve_all(HAIKU)
    regions = [r.region for r in found]
    assert set(regions) == set(REGIONS) - {"eu-west-3"}
    assert regions == resolver.latency.order(sorted(regions))  # fastest first ...
    assert regions[-2:] == ["us-west-2", "ap-northeast-1"]  # ... the slowest last
    assert {r.invoke_id for r in found} == {HAIKU}
    assert fake_bedrock.count(operation="GetCallerIdentity") == 1  # not once per worker

    sonnet = resolver.resolve_all(SONNET)
    assert {r.region for r in sonnet} == set(US)
    assert {r.invoke_id for r in sonnet} == {f"us.{SONNET}"}

    assert resolver.resolve_all(LLAMA) == []  # routes exist, but the account may not use it
    denied = resolver.resolve_all(LLAMA, invocable_only=False)
    assert {r.region for r in denied} == set(US) and not any(r.invocable for r in denied)


def test_check_access_takes_every_input_form(make_resolver):
    resolver = make_resolver()
    assert resolver.check_access(f"us.{LLAMA}", "us-east-1").denied
    assert resolver.check_access(LLAMA, "us-east-1").model_id == LLAMA
    assert resolver.check_access(f"global.{NOVA}", "eu-west-1").model_id == NOVA


def test_an_unavailable_region_is_named(make_resolver, fake_bedrock):
    fake_bedrock.deny("eu-central-1")
    with pytest.raises(RegionUnavailableError, match=r"^eu-central-1: ListFoundationModels"):
        make_resolver().resolve(HAIKU, "eu-central-1")


@pytest.mark.parametrize(
    ("model", "region", "prefer", "message"),
    [
        ("", "us-east-1", "geo", "model must be a model id, model ARN, inference-profile"),
        (None, "us-east-1", "geo", "model must be"),
        (HAIKU, "", "geo", "region must be a region name"),
        (HAIKU, "us-east-1", "fastest", "prefer must be one of 'geo', 'global', 'application'"),
    ],
)
def test_bad_input_is_a_clear_error(make_resolver, model, region, prefer, message):
    with pytest.raises(ValueError, match=message):
        make_resolver().resolve(model, region, prefer=prefer)
