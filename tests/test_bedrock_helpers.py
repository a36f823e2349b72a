"""The seed's specialised helpers on real Bedrock data shapes."""

from __future__ import annotations

import datetime as dt

from dbp.llm.bedrock.discovery import discovery_cached

UTC = dt.timezone.utc


def profile(pid: str, *model_arns: str) -> dict:
    return {
        "inferenceProfileName": pid,
        "inferenceProfileId": pid,
        "inferenceProfileArn": f"arn:aws:bedrock:us-east-1:123456789012:inference-profile/{pid}",
        "models": [{"modelArn": arn} for arn in model_arns],
        "status": "ACTIVE",
        "type": "SYSTEM_DEFINED",
        "createdAt": dt.datetime(2024, 10, 22, 12, 0, tzinfo=UTC),
        "updatedAt": dt.datetime(2024, 11, 1, 8, 30, 15, 250000, tzinfo=UTC),
    }


SONNET = "anthropic.claude-3-5-sonnet-20241022-v2:0"
HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"


def arn(region: str, model_id: str) -> str:
    return f"arn:aws:bedrock:{region}::foundation-model/{model_id}"


PROFILES = [
    profile("us." + SONNET, arn("us-east-1", SONNET), arn("us-west-2", SONNET)),
    profile("us." + HAIKU, arn("us-east-1", HAIKU), arn("us-east-2", HAIKU)),
]


def test_model_cache_round_trip(cache, make_cache):
    models = [{"modelId": SONNET, "providerName": "Anthropic"}]
    cache.set_model_cache("us-west-2", models)
    assert cache.get_model_cache("us-west-2") == models
    assert make_cache().get_model_cache("us-west-2") == models
    assert cache.get_model_cache("eu-west-1") is None


def test_profile_filter_matches_model_arns_of_real_profiles(cache, make_cache):
    cache.set_profile_cache("us-east-1", PROFILES)
    assert cache.get_profile_cache("us-east-1") == PROFILES
    matched = make_cache().get_profile_cache("us-east-1", SONNET)
    assert [p["inferenceProfileId"] for p in matched] == ["us." + SONNET]
    assert matched[0]["createdAt"] == dt.datetime(2024, 10, 22, 12, 0, tzinfo=UTC)


def test_profile_filter_accepts_full_model_arn(cache):
    cache.set_profile_cache("us-east-1", PROFILES)
    matched = cache.get_profile_cache("us-east-1", arn("us-east-2", HAIKU))
    assert [p["inferenceProfileId"] for p in matched] == ["us." + HAIKU]


def test_profile_filter_still_matches_plain_model_id_field(cache):
    cache.set_profile_cache("eu-west-1", [{"modelId": "m-1"}, {"modelId": "m-2"}])
    assert cache.get_profile_cache("eu-west-1", "m-2") == [{"modelId": "m-2"}]
    assert cache.get_profile_cache("eu-west-1", "absent") == []


def test_profile_filter_on_raw_list_inference_profiles_response(cache):
    cache.set_profile_cache("us-east-1", {"inferenceProfileSummaries": PROFILES})
    assert len(cache.get_profile_cache("us-east-1", HAIKU)) == 1


def test_template_keys_are_plain_cache_keys(cache):
    calls = []

    @discovery_cached(key="bedrock_models:<region>", cache=cache)
    def list_models(region):
        calls.append(region)
        return [{"modelId": SONNET, "region": region}]

    list_models("us-east-1")
    assert cache.get_model_cache("us-east-1") == [{"modelId": SONNET, "region": "us-east-1"}]
    cache.invalidate("bedrock_models:us-east-1")
    list_models("us-east-1")
    assert calls == ["us-east-1", "us-east-1"]
