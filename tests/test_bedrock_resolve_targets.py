"""BedrockResolver on the account's own targets: each kind resolves, unusable ones never do."""

from __future__ import annotations

import functools

import pytest

from dbp.llm.bedrock.discovery.bedrock.errors import ModelNotAvailableError, TargetNotUsableError
from dbp.llm.bedrock.discovery.bedrock.resolver import BedrockResolver

HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
TITAN = "amazon.titan-text-express-v1"
REGION = "us-east-1"


@pytest.fixture
def resolver(on_stand_in):
    return functools.partial(on_stand_in, BedrockResolver, regions=[REGION, "us-west-2"])()


def arn_of(resolver, name):
    return next(t.arn for t in resolver.targets.list_targets(REGION) if t.name == name)


@pytest.mark.parametrize(
    ("wanted", "method", "target"),
    [
        ("haiku-pt", "provisioned", "haiku-pt"),
        ("faq-bot", "custom-deployment", "faq-bot-prod"),  # its Active deployment
        ("faq-bot-prod", "custom-deployment", "faq-bot-prod"),
        ("support-bot", "provisioned", "support-bot-pt"),  # deployment Failed: its throughput
        ("my-llama", "imported", "my-llama"),
        ("my-router", "prompt-router", "my-router"),
        ("Anthropic Prompt Router", "prompt-router", "Anthropic Prompt Router"),
        ("solar-pro", "marketplace", "solar-pro"),
    ],
)
def test_each_kind_resolves_by_name_and_by_arn_to_the_same_answer(resolver, wanted, method, target):
    by_name = resolver.resolve(wanted, REGION)
    assert (by_name.method, by_name.target_name) == (method, target)
    assert by_name.invoke_id == arn_of(resolver, target)
    assert by_name.invocable
    assert resolver.resolve(arn_of(resolver, wanted), REGION) == by_name
    assert resolver.resolve(by_name.invoke_id, REGION) == by_name  # idempotent


def test_what_each_kind_says_about_itself(resolver):
    pt = resolver.resolve("haiku-pt", REGION)
    assert (pt.model_id, pt.lifecycle, pt.access.status) == (HAIKU, "ACTIVE", "allowed")
    custom = resolver.resolve("faq-bot", REGION)
    assert custom.model_id == arn_of(resolver, "faq-bot") and custom.access is None
    imported = resolver.resolve("my-llama", REGION)
    assert imported.note == "InvokeModel only: Converse does not take imported models"
    router = resolver.resolve("my-router", REGION)
    assert f"us.{HAIKU}" in router.note
    assert resolver.resolve("solar-pro", REGION).to_dict()["target"]["kind"] == "marketplace"


@pytest.mark.parametrize(
    ("wanted", "says"),
    [
        ("nova-pt", "provisioned throughput nova-pt in us-east-1 is Creating, not usable"),
        ("old-pt", "provisioned throughput old-pt in us-east-1 is Failed, not usable"),
        ("training-bot", "custom model training-bot in us-east-1 is Creating, not usable"),
        ("draft-bot-dev", "custom model deployment draft-bot-dev in us-east-1 is Creating"),
        ("support-bot-old", "is Failed, not usable: Deployment failed: quota exceeded."),
        ("old-endpoint", "marketplace endpoint old-endpoint in us-east-1 is INCOMPATIBLE_ENDPOINT"),
        (
            "draft-bot",
            "custom model draft-bot in us-east-1 has no Active on-demand deployment and no "
            "InService provisioned throughput (custom model deployment draft-bot-dev is Creating)",
        ),
    ],
)
def test_a_target_that_is_not_usable_is_reported_never_returned(resolver, wanted, says):
    with pytest.raises(TargetNotUsableError) as raised:
        resolver.resolve(wanted, REGION)
    assert says in str(raised.value)
    with pytest.raises(TargetNotUsableError):
        resolver.resolve(arn_of(resolver, wanted), REGION)


def test_prefer_provisioned_takes_an_inservice_throughput_and_the_default_order_stays(resolver):
    assert resolver.resolve(HAIKU, REGION).method == "on-demand"
    bought = resolver.resolve(HAIKU, REGION, prefer="provisioned")
    assert (bought.method, bought.target_name) == ("provisioned", "haiku-pt")
    assert bought.access.status == "allowed"
    # titan's throughputs are Updating and Failed: none InService, so the default route
    assert resolver.resolve(TITAN, REGION, prefer="provisioned").method == "on-demand"
    # no throughput in us-west-2 at all
    assert resolver.resolve(HAIKU, "us-west-2", prefer="provisioned").method == "on-demand"


def test_all_targets_lists_every_way_to_invoke_with_states(resolver):
    haiku = [(r.method, r.invoke_id, r.usable) for r in resolver.all_targets(HAIKU, REGION)]
    assert haiku == [
        ("on-demand", HAIKU, True),
        ("inference-profile", f"us.{HAIKU}", True),
        ("provisioned", arn_of(resolver, "haiku-pt"), True),
    ]
    titan = {r.name: r for r in resolver.all_targets(TITAN, REGION)}
    assert titan["old-pt"].to_dict()["invokeId"] is None
    assert "Failed" in titan["old-pt"].note
    support = [(r.name, r.usable) for r in resolver.all_targets("support-bot", REGION)]
    assert support == [("support-bot-old", False), ("support-bot-pt", True)]
    assert [r.method for r in resolver.all_targets("my-llama", REGION)] == ["imported"]
    nova = [(r.method, r.name, r.usable) for r in resolver.all_targets("nova-pt", REGION)]
    assert nova == [  # the model behind it: its global profile, and the throughput not ready
        ("inference-profile", "GLOBAL amazon.nova-pro-v1:0", True),
        ("provisioned", "nova-pt", False),
    ]
    router = resolver.all_targets("my-router", REGION)
    assert [(r.method, r.usable) for r in router] == [("prompt-router", True)]
    old = resolver.all_targets("old-endpoint", REGION)
    assert [(r.method, r.state, r.usable) for r in old] == [
        ("marketplace", "INCOMPATIBLE_ENDPOINT", False)
    ]


def test_a_warm_target_resolve_makes_no_api_call(on_stand_in, make_cache, fake_bedrock):
    cold = on_stand_in(BedrockResolver)
    cold.resolve("faq-bot", REGION)
    cold.resolve(HAIKU, REGION, prefer="provisioned")
    fake_bedrock.reset_counts()
    again = on_stand_in(BedrockResolver, cache=make_cache())
    assert again.resolve("faq-bot", REGION).target_name == "faq-bot-prod"
    assert again.resolve(HAIKU, REGION, prefer="provisioned").target_name == "haiku-pt"
    assert again.api_calls == 0 and fake_bedrock.count() == 0


def test_a_model_id_never_lists_targets_and_an_unknown_name_is_not_available(
    resolver, fake_bedrock
):
    resolver.resolve(HAIKU, REGION)
    assert fake_bedrock.count(operation="ListProvisionedModelThroughputs") == 0
    with pytest.raises(ModelNotAvailableError, match="no-such-thing is not available in us-east-1"):
        resolver.resolve("no-such-thing", REGION)


def test_pending_access_is_its_own_state_and_not_invocable(resolver, fake_bedrock):
    fake_bedrock.set_access(HAIKU, agreement="PENDING")
    found = resolver.resolve(HAIKU, REGION)
    assert found.access.status == "pending" and not found.access.denied
    assert not found.invocable
    assert found.reason == (
        f"account 111122223333 may not use {HAIKU} in us-east-1 yet: model access requested, "
        "not yet granted (agreementAvailability PENDING)"
    )
    fake_bedrock.set_access(HAIKU, agreement="PENDING", authorization="NOT_AUTHORIZED")
    denied = resolver.access.check(HAIKU, "us-west-2")
    assert denied.status == "denied"
