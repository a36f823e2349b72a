"""BedrockTargetDiscovery: the account's other invocation targets, listed, paged, cached."""

from __future__ import annotations

import functools
import logging

import pytest

from bedrock_fixtures import session_for
from dbp.llm.bedrock.discovery.bedrock.errors import BedrockDiscoveryError
from dbp.llm.bedrock.discovery.bedrock.targets import BedrockTargetDiscovery

ACCOUNT = "111122223333"


@pytest.fixture
def make_targets(on_stand_in):
    return functools.partial(on_stand_in, BedrockTargetDiscovery)


def by_name(targets):
    return {t.name: t for t in targets}


def test_every_kind_is_listed_with_its_invoke_id_and_state(make_targets, fake_bedrock):
    found = by_name(make_targets().list_targets("us-east-1"))
    assert [found[n].kind for n in ("haiku-pt", "faq-bot", "faq-bot-prod", "my-llama")] == [
        "provisioned",
        "custom",
        "deployment",
        "imported",
    ]
    assert found["haiku-pt"].invoke_id == found["haiku-pt"].arn
    assert ":provisioned-model/" in found["haiku-pt"].arn
    assert (found["haiku-pt"].state, found["haiku-pt"].usable) == ("InService", True)
    assert (found["titan-pt"].state, found["titan-pt"].usable) == ("Updating", True)
    for name, state in (
        ("nova-pt", "Creating"),
        ("old-pt", "Failed"),
        ("training-bot", "Creating"),
        ("draft-bot-dev", "Creating"),
        ("old-endpoint", "INCOMPATIBLE_ENDPOINT"),
    ):
        assert (found[name].state, found[name].usable) == (state, False), name
        assert found[name].invoke_id is None, name  # never handed out as an invoke ID
        assert found[name].to_dict()["invokeId"] is None
    assert found["faq-bot"].invoke_id is None  # a custom model is invoked through a route
    assert found["my-llama"].note == "InvokeModel only: Converse does not take imported models"
    assert found["Anthropic Prompt Router"].arn.split(":")[5].startswith("default-prompt-router/")
    assert found["my-router"].state == "AVAILABLE"
    assert (
        found["solar-pro"].invoke_id == f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:endpoint/solar-pro"
    )
    # five throughputs on pages of three: every page was fetched
    assert fake_bedrock.count("us-east-1", "ListProvisionedModelThroughputs") == 2


def test_one_kind_costs_one_listing_and_a_restart_reads_the_account_scoped_cache(
    make_targets, make_cache, fake_bedrock
):
    first = make_targets(account_id=ACCOUNT)
    provisioned = first.list_targets("us-east-1", ["provisioned"])
    assert {t.kind for t in provisioned} == {"provisioned"}
    assert fake_bedrock.count(operation="ListCustomModels") == 0
    first.list_targets("us-east-1")
    assert first.cache.get(f"bedrock_targets:us-east-1:account:{ACCOUNT}:provisioned")
    restarted = make_targets(account_id=ACCOUNT, cache=make_cache())
    fake_bedrock.reset_counts()
    assert by_name(restarted.list_targets("us-east-1")) == by_name(first.list_targets("us-east-1"))
    assert restarted.api_calls == 0 and fake_bedrock.count() == 0
    restarted.list_targets("us-east-1", ["router"], refresh=True)
    assert fake_bedrock.count(operation="ListPromptRouters") == 1


def test_two_accounts_sharing_a_cache_folder_see_only_their_own(
    aws_env, make_cache, fast_retry, fake_bedrock
):
    fake_bedrock.accounts["AKIDOTHER"] = "444455556666"

    def targets_of(access_key):
        discovery = BedrockTargetDiscovery(
            session_for(access_key),
            endpoint_url=fake_bedrock.url,
            cache=make_cache(),
            retry=fast_retry,
        )
        return discovery.list_targets("us-east-1")

    mine = targets_of("AKIDTESTACCOUNT1")
    theirs = targets_of("AKIDOTHER")
    assert len(mine) == 18
    assert [(t.kind, t.arn.split(":")[4]) for t in theirs] == [("router", "444455556666")]


def test_with_an_unknown_account_targets_are_listed_but_never_cached(
    make_targets, fake_bedrock, session
):
    discovery = make_targets(client_factory=lambda region: session.client(
        "bedrock", region_name=region, endpoint_url=fake_bedrock.url), endpoint_url=None, session=None)  # fmt: skip
    assert discovery.list_targets("us-east-1", ["imported"])[0].name == "my-llama"
    discovery.list_targets("us-east-1", ["imported"])
    assert fake_bedrock.count(operation="ListImportedModels") == 2
    assert not [e for e in discovery.cache.entries() if e.key and "bedrock_targets" in e.key]


def test_no_permission_for_one_api_skips_that_kind_with_one_warning(
    make_targets, make_cache, fake_bedrock, discovery_log
):
    fake_bedrock.deny("us-east-1", operation="ListPromptRouters")
    fake_bedrock.deny("us-east-1", operation="ListMarketplaceModelEndpoints")
    discovery = make_targets()
    found = discovery.list_targets("us-east-1")
    assert {t.kind for t in found} == {"provisioned", "custom", "deployment", "imported"}
    discovery.list_targets("us-east-1")
    warnings = [r.getMessage() for r in discovery_log.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, warnings
    assert "no permission to list prompt router, marketplace endpoint" in warnings[0]
    assert "AccessDeniedException" in warnings[0]
    # remembered: a restart neither asks again nor warns again
    discovery_log.clear()
    fake_bedrock.reset_counts()
    restarted = make_targets(cache=make_cache())
    assert len(restarted.list_targets("us-east-1")) == len(found)
    assert fake_bedrock.count() == 0
    assert not [r for r in discovery_log.records if r.levelno >= logging.WARNING]


def test_a_region_not_enabled_is_not_mistaken_for_a_missing_permission(make_targets):
    discovery = make_targets()
    assert discovery.list_targets("af-south-1") == []
    with pytest.raises(BedrockDiscoveryError, match=r"af-south-1.*UnrecognizedClientException"):
        discovery.list_targets("af-south-1", skip_unavailable=False)


def test_throttled_listings_serve_the_stale_copy_then_fail_without_one(
    make_targets, fake_bedrock, clock, discovery_log
):
    discovery = make_targets()
    before = discovery.list_targets("us-east-1", ["deployment"])
    clock.advance(3 * 86_400 + 1)  # past the disk lifetime
    fake_bedrock.throttle("us-east-1")
    assert discovery.list_targets("us-east-1", ["deployment"]) == before
    assert any("expired" in r.getMessage() for r in discovery_log.records)
    with pytest.raises(
        BedrockDiscoveryError, match=r"ListImportedModels failed: ThrottlingException"
    ):
        discovery.list_targets("us-east-1", ["imported"])


def test_an_unknown_kind_is_a_clear_error(make_targets):
    with pytest.raises(ValueError, match="target kind must be one of provisioned, custom, "):
        make_targets().list_targets("us-east-1", ["throughput"])


def test_clear_cache_removes_only_target_listings(make_targets, fake_bedrock):
    discovery = make_targets()
    discovery.list_targets("us-east-1")
    discovery.cache.set("other", 1)
    assert discovery.clear_cache() == 6
    assert discovery.cache.get("other") == 1
