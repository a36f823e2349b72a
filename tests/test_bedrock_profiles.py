"""BedrockProfileDiscovery: pagination, model matching, account isolation, stale-on-throttle."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from bedrock_fixtures import session_for
from dbp.llm.bedrock.discovery.bedrock.errors import BedrockDiscoveryError
from dbp.llm.bedrock.discovery.bedrock.profiles import BedrockProfileDiscovery
from dbp.llm.bedrock.discovery.testing import FakeBedrockServer, RegionCatalog, system_profile

HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
US = ["us-east-1", "us-east-2", "us-west-2"]


def profile_ids(profiles):
    return [p["inferenceProfileId"] for p in profiles]


def test_every_page_is_fetched_and_cached(aws_env, session, cache, fast_retry, make_cache):
    catalog = {
        "us-east-1": RegionCatalog(
            profiles=[
                system_profile(f"us.vendor.model-{i}-v1:0", f"vendor.model-{i}-v1:0", US)
                for i in range(11)
            ]
        )
    }
    with FakeBedrockServer(catalog, page_size_cap=4) as server:
        discovery = BedrockProfileDiscovery(
            session,
            endpoint_url=server.url,
            cache=cache,
            retry=fast_retry,
            include_application=False,
        )
        profiles = discovery.list_profiles("us-east-1")
        assert profile_ids(profiles) == [f"us.vendor.model-{i}-v1:0" for i in range(11)]
        assert server.count(operation="ListInferenceProfiles") == math.ceil(11 / 4)

        again = BedrockProfileDiscovery(
            session, endpoint_url=server.url, cache=make_cache(), include_application=False
        ).list_profiles("us-east-1")
        assert again == profiles
        assert server.count(operation="ListInferenceProfiles") == 3  # warm: no new page
        assert isinstance(again[0]["createdAt"], dt.datetime)
        assert again[0]["createdAt"].tzinfo is not None


def test_profiles_routing_a_model_and_the_regions_they_route_to(make_profiles):
    discovery = make_profiles()
    routing = discovery.profiles_for_model(HAIKU, "us-east-1")
    assert profile_ids(routing) == [f"us.{HAIKU}"]
    arn = f"arn:aws:bedrock:us-west-2::foundation-model/{HAIKU}"
    assert discovery.list_profiles("us-east-1", model=arn) == routing
    assert discovery.profile_regions(f"us.{HAIKU}", "us-east-1") == US
    assert discovery.profile_regions(routing[0], "us-east-1") == US
    assert BedrockProfileDiscovery.profile_models(routing[0]) == [HAIKU]
    nova = discovery.get_profile("global.amazon.nova-pro-v1:0", "eu-west-1")
    assert nova is not None and len(discovery.profile_regions(nova, "eu-west-1")) == 8  # > 5
    assert discovery.get_profile("us.nothing", "us-east-1") is None
    with pytest.raises(LookupError, match=r"us\.nothing"):
        discovery.profile_regions("us.nothing", "us-east-1")


def test_two_accounts_sharing_a_cache_folder_never_see_each_others_application_profiles(
    aws_env, make_cache, fast_retry
):
    accounts = {"AKIDALICE": "111111111111", "AKIDBOB": "222222222222"}
    with FakeBedrockServer(accounts=accounts) as server:
        server.add_application_profile("111111111111", "us-east-1", "alice-app", HAIKU)
        server.add_application_profile("222222222222", "us-east-1", "bob-app", HAIKU)

        def discovery_for(access_key):
            return BedrockProfileDiscovery(
                session_for(access_key),
                endpoint_url=server.url,
                cache=make_cache(),
                retry=fast_retry,
            )

        for _ in range(2):  # cold, then warm from the shared folder
            alice = discovery_for("AKIDALICE").list_profiles("us-east-1", model=HAIKU)
            bob = discovery_for("AKIDBOB").list_profiles("us-east-1", model=HAIKU)
            assert profile_ids(alice) == [f"us.{HAIKU}", "app-alice-app"]
            assert profile_ids(bob) == [f"us.{HAIKU}", "app-bob-app"]
            # The shared system listing carries each caller's own account in its ARN.
            assert ":111111111111:" in alice[0]["inferenceProfileArn"]
            assert ":222222222222:" in bob[0]["inferenceProfileArn"]

        assert server.count(operation="GetCallerIdentity") == 2  # once per access key, ever
        # Two pages of system profiles (listed once: bob reused alice's cached listing),
        # plus one page of application profiles per account.
        assert server.count(operation="ListInferenceProfiles") == 2 + 1 + 1
        cache = make_cache()
        keys = {e.key for e in cache.entries()}
        assert "bedrock_profiles:us-east-1" in keys
        assert "bedrock_profiles:us-east-1:account:111111111111" in keys
        assert "bedrock_profiles:us-east-1:account:222222222222" in keys
        assert all(
            "app-" not in p["inferenceProfileId"] for p in cache.get_profile_cache("us-east-1")
        )


def test_an_explicit_account_id_skips_sts(make_profiles, fake_bedrock):
    fake_bedrock.accounts["AKIDTESTACCOUNT1"] = "999999999999"
    fake_bedrock.add_application_profile("999999999999", "us-east-1", "mine", HAIKU)
    profiles = make_profiles(account_id="999999999999").list_profiles(
        "us-east-1", profile_type="APPLICATION"
    )
    assert profile_ids(profiles) == ["app-mine"]
    assert fake_bedrock.count(operation="GetCallerIdentity") == 0


def test_with_an_unknown_account_application_profiles_are_never_cached(
    fake_bedrock, session, cache, fast_retry
):
    fake_bedrock.add_application_profile("111122223333", "us-east-1", "mine", HAIKU)
    discovery = BedrockProfileDiscovery(
        client_factory=lambda r: session.client(
            "bedrock", region_name=r, endpoint_url=fake_bedrock.url
        ),
        cache=cache,
        retry=fast_retry,
    )
    for _ in range(2):
        assert "app-mine" in profile_ids(discovery.list_profiles("us-east-1"))
    # Two pages of system profiles, once; the application page on every call.
    assert fake_bedrock.count(operation="ListInferenceProfiles") == 2 + 2
    assert not any(":account:" in (e.key or "") for e in cache.entries())


def test_throttled_profiles_serve_the_stale_listing_then_fail_without_one(
    make_profiles, fake_bedrock, clock, discovery_log
):
    discovery = make_profiles(include_application=False)
    fresh = discovery.list_profiles("eu-west-1")
    clock.advance(3 * 86_400 + 1)
    fake_bedrock.throttle("eu-west-1")
    assert discovery.list_profiles("eu-west-1") == fresh
    assert any(
        "eu-west-1" in r.getMessage() and "expired" in r.getMessage() for r in discovery_log.records
    )
    fake_bedrock.throttle("eu-west-3")
    with pytest.raises(BedrockDiscoveryError, match=r"^eu-west-3: ListInferenceProfiles failed"):
        discovery.list_profiles("eu-west-3")


def test_profile_scan_skips_denied_regions(make_profiles, fake_bedrock):
    fake_bedrock.deny("eu-central-1")
    found = make_profiles().scan(["us-east-1", "eu-central-1", "ap-northeast-1"], model=HAIKU)
    assert {r: profile_ids(p) for r, p in found.items()} == {
        "us-east-1": [f"us.{HAIKU}"],
        "ap-northeast-1": [f"apac.{HAIKU}"],
    }


def test_clear_cache_removes_only_profile_listings(make_profiles, make_models, cache):
    make_models().list_models("us-east-1")
    profiles = make_profiles()
    profiles.list_profiles("us-east-1")
    assert profiles.clear_cache() == 2  # system + this account's application listing
    assert cache.get_profile_cache("us-east-1") is None
    assert cache.get_model_cache("us-east-1") is not None


def test_bad_profile_type_is_a_clear_error(make_profiles):
    with pytest.raises(ValueError, match="profile_type"):
        make_profiles().list_profiles("us-east-1", profile_type="SYSTEM")
