"""BedrockModelAccess: GetFoundationModelAvailability through real boto3 clients, cached per account."""

from __future__ import annotations

import functools
import logging

import pytest

from bedrock_fixtures import session_for
from dbp.llm.bedrock.discovery.bedrock.access import BedrockModelAccess
from dbp.llm.bedrock.discovery.testing import FakeBedrockServer

HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
LLAMA = "meta.llama3-2-1b-instruct-v1:0"
CLAUDE_V2 = "anthropic.claude-v2:1"  # listed only in Europe
ACCOUNT = "111122223333"
OPERATION = "GetFoundationModelAvailability"
HOUR = 3600


@pytest.fixture
def make_access(on_stand_in):
    return functools.partial(on_stand_in, BedrockModelAccess)


def access_warnings(caplog):
    return [
        r
        for r in caplog.records
        if r.levelno == logging.WARNING and "cannot tell whether" in r.getMessage()
    ]


def test_allowed_denied_and_not_offered_as_the_service_says(make_access):
    access = make_access()
    haiku = access.check(HAIKU, "us-east-1")
    assert (haiku.status, haiku.reason, haiku.account) == ("allowed", None, ACCOUNT)
    assert haiku.authorization == "AUTHORIZED" and haiku.agreement == "AVAILABLE"

    llama = access.check(LLAMA, "us-east-1")
    assert llama.denied and not llama.allowed
    assert llama.reason == (
        "not authorized (authorizationStatus NOT_AUTHORIZED); no agreement accepted: "
        "request model access (agreementAvailability NOT_AVAILABLE)"
    )

    elsewhere = access.check(
        f"arn:aws:bedrock:us-east-1::foundation-model/{CLAUDE_V2}", "us-east-1"
    )
    assert elsewhere.model_id == CLAUDE_V2  # an ARN is reduced to its model id
    assert elsewhere.denied and "regionAvailability NOT_AVAILABLE" in elsewhere.reason


def test_cached_per_account_region_and_model_for_one_hour(
    make_access, fake_bedrock, clock, make_cache
):
    access = make_access()
    first = access.check(HAIKU, "us-east-1")
    assert make_access(cache=make_cache()).check(HAIKU, "us-east-1") == first  # from disk
    assert fake_bedrock.count(operation=OPERATION) == 1
    key = f"bedrock_access:us-east-1:account:{ACCOUNT}:{HAIKU}"
    assert make_cache().get(key)["authorizationStatus"] == "AUTHORIZED"

    access.check(HAIKU, "eu-west-1")
    access.check(LLAMA, "us-east-1")
    assert fake_bedrock.count(operation=OPERATION) == 3  # other region, other model

    clock.advance(HOUR - 1)
    access.check(HAIKU, "us-east-1")
    assert fake_bedrock.count(operation=OPERATION) == 3
    clock.advance(2)  # one hour, not the listings' three days
    access.check(HAIKU, "us-east-1")
    assert fake_bedrock.count(operation=OPERATION) == 4


def test_refresh_asks_again_and_keeps_the_one_hour_lifetime(make_access, fake_bedrock, clock):
    access = make_access()
    assert access.check(LLAMA, "us-east-1").denied
    fake_bedrock.set_access(LLAMA)  # someone accepted the agreement
    assert access.check(LLAMA, "us-east-1").denied  # still the cached answer
    assert access.check(LLAMA, "us-east-1", refresh=True).allowed
    assert access.check(LLAMA, "us-east-1").allowed
    assert fake_bedrock.count(operation=OPERATION) == 2
    clock.advance(HOUR + 1)
    access.check(LLAMA, "us-east-1")
    assert fake_bedrock.count(operation=OPERATION) == 3


def test_two_accounts_sharing_a_cache_folder_get_their_own_answers(aws_env, make_cache, fast_retry):
    accounts = {"AKIDALICE": "111111111111", "AKIDBOB": "222222222222"}
    with FakeBedrockServer(accounts=accounts) as server:
        server.set_access(HAIKU, account="222222222222", authorization="NOT_AUTHORIZED")

        def access_for(key):
            return BedrockModelAccess(
                session_for(key), endpoint_url=server.url, cache=make_cache(), retry=fast_retry
            )

        for _ in range(2):  # cold, then warm from the shared folder
            assert access_for("AKIDALICE").check(HAIKU, "us-east-1").allowed
            bob = access_for("AKIDBOB").check(HAIKU, "us-east-1")
            assert bob.denied and bob.account == "222222222222"
        assert server.count(operation=OPERATION) == 2
        keys = {e.key for e in make_cache().entries()}
        assert f"bedrock_access:us-east-1:account:111111111111:{HAIKU}" in keys
        assert f"bedrock_access:us-east-1:account:222222222222:{HAIKU}" in keys


def test_a_caller_without_permission_gets_unknown_and_one_warning(
    make_access, fake_bedrock, discovery_log
):
    for region in ("us-east-1", "eu-west-1"):
        fake_bedrock.deny(region, operation=OPERATION)
    access = make_access()
    answers = [access.check(m, r) for m in (HAIKU, LLAMA) for r in ("us-east-1", "eu-west-1")]
    assert {a.status for a in answers} == {"unknown"}
    assert "AccessDeniedException" in answers[0].reason
    assert len(access_warnings(discovery_log)) == 1
    assert fake_bedrock.count(operation="ListFoundationModels") == 0  # nothing else was denied

    calls = fake_bedrock.count(operation=OPERATION)
    assert access.check(HAIKU, "us-east-1").status == "unknown"  # remembered for the hour
    assert fake_bedrock.count(operation=OPERATION) == calls


def test_throttling_past_retries_is_unknown_and_not_remembered(make_access, fake_bedrock, sleeps):
    fake_bedrock.throttle("us-east-1", times=3, operation=OPERATION)
    access = make_access()
    busy = access.check(HAIKU, "us-east-1")
    assert busy.status == "unknown" and "ThrottlingException" in busy.reason
    assert len(sleeps.delays) == 2  # retried like every other call
    assert access.check(HAIKU, "us-east-1").allowed  # asked again, not served "unknown"


def test_with_an_unknown_account_access_is_fetched_but_never_cached(
    fake_bedrock, session, cache, fast_retry
):
    access = BedrockModelAccess(
        client_factory=lambda r: session.client(
            "bedrock", region_name=r, endpoint_url=fake_bedrock.url
        ),
        cache=cache,
        retry=fast_retry,
    )
    for _ in range(2):
        answer = access.check(HAIKU, "us-east-1")
        assert answer.allowed and answer.account is None
    assert fake_bedrock.count(operation=OPERATION) == 2
    assert not any((e.key or "").startswith("bedrock_access:") for e in cache.entries())


def test_clear_cache_removes_only_access_answers(make_access, make_models, cache):
    make_models().list_models("us-east-1")
    access = make_access()
    access.check(HAIKU, "us-east-1")
    access.check(LLAMA, "us-east-1")
    assert access.clear_cache() == 2
    assert cache.get_model_cache("us-east-1") is not None


@pytest.mark.parametrize("bad", ["", "   ", None])
def test_a_missing_model_is_a_clear_error(make_access, bad):
    with pytest.raises(ValueError, match="model must be a model id or ARN"):
        make_access().check(bad, "us-east-1")
