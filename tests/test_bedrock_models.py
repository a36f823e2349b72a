"""BedrockModelDiscovery against real boto3 clients and the local Bedrock stand-in."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import threading
import time

import pytest

from dbp.llm.bedrock.discovery.bedrock.clients import BedrockClients
from dbp.llm.bedrock.discovery.bedrock.errors import BedrockDiscoveryError, RegionUnavailableError
from dbp.llm.bedrock.discovery.bedrock.latency import LATENCY_KEY
from dbp.llm.bedrock.discovery.bedrock.models import (
    BedrockModelDiscovery,
    inference_access,
    requires_inference_profile,
)
from dbp.llm.bedrock.discovery.testing import foundation_model

HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
NOVA = "amazon.nova-pro-v1:0"
THREE_DAYS = 3 * 86_400


def ids(models):
    return sorted(m["modelId"] for m in models)


def test_models_come_back_as_boto3_returns_them_from_every_tier(
    make_models, make_cache, fake_bedrock
):
    models = make_models().list_models("us-east-1")
    assert HAIKU in ids(models)
    started = models[0]["modelLifecycle"]["startOfLifeTime"]
    assert isinstance(started, dt.datetime) and started.utcoffset() == dt.timedelta(0)
    assert "ResponseMetadata" not in models[0]

    restarted = make_models(cache=make_cache())  # new process view: disk tier only
    again = restarted.list_models("us-east-1")
    assert again == models
    assert again[0]["modelLifecycle"]["startOfLifeTime"] == started
    assert again[0]["modelLifecycle"]["startOfLifeTime"].tzinfo is not None
    assert fake_bedrock.count(operation="ListFoundationModels") == 1
    # The seed's helper reads what the discovery stored, under bedrock_models:<region>.
    assert make_cache().get_model_cache("us-east-1") == models


def test_filters_match_the_service_and_share_one_cached_call(make_models, fake_bedrock, session):
    discovery = make_models()
    anthropic = discovery.list_models("us-east-1", provider="anthropic")
    embedding = discovery.list_models("us-east-1", output_modality="EMBEDDING")
    profile_types = discovery.list_models("us-east-1", inference_type="INFERENCE_PROFILE")
    tunable = discovery.list_models("us-east-1", customization_type="FINE_TUNING")
    assert fake_bedrock.count(operation="ListFoundationModels") == 1

    client = session.client("bedrock", region_name="us-east-1", endpoint_url=fake_bedrock.url)
    service = client.list_foundation_models(byProvider="anthropic")["modelSummaries"]
    assert (
        ids(anthropic)
        == ids(service)
        == [
            "anthropic.claude-3-5-sonnet-20241022-v2:0",
            HAIKU,
        ]
    )
    assert ids(embedding) == ["cohere.embed-english-v3"]
    assert NOVA in ids(profile_types) and HAIKU in ids(profile_types)
    assert ids(tunable) == ["amazon.titan-text-express-v1"]


def test_profile_only_models_are_reported_and_unknown_enums_pass_through(make_models):
    models = {m["modelId"]: m for m in make_models().list_models("us-east-1")}
    assert requires_inference_profile(models[NOVA])
    assert inference_access(models[NOVA]) == "profile-only"
    assert not requires_inference_profile(models[HAIKU])  # ON_DEMAND too
    assert models["cohere.embed-english-v3"]["inferenceTypesSupported"] == ["ON_DEMAND", "BATCH_V2"]


def test_get_model_by_id_or_arn_and_none_when_not_offered(make_models, fake_bedrock):
    discovery = make_models()
    by_id = discovery.get_model(HAIKU, "us-east-1")
    assert by_id is not None and by_id["modelId"] == HAIKU
    assert discovery.get_model(by_id["modelArn"], "us-east-1") == by_id
    assert fake_bedrock.count(operation="GetFoundationModel") == 0  # answered by the list
    assert discovery.get_model("vendor.no-such-model-v1", "us-east-1") is None
    assert fake_bedrock.count(operation="GetFoundationModel") == 1


def test_scan_isolates_a_throttled_a_denied_an_opt_in_and_a_slow_region(
    make_models, fake_bedrock, discovery_log, sleeps
):
    fake_bedrock.throttle("eu-west-1", times=2)  # recovers on the third attempt
    fake_bedrock.deny("eu-central-1")
    fake_bedrock.delay("ap-northeast-1", 0.3)
    regions = ["us-east-1", "eu-west-1", "eu-central-1", "ap-northeast-1", "ca-central-1"]
    discovery = make_models(max_workers=5)

    started = time.perf_counter()
    found = discovery.scan(regions)
    elapsed = time.perf_counter() - started

    assert list(found) == ["us-east-1", "eu-west-1", "ap-northeast-1"]
    assert all(found.values())
    assert fake_bedrock.count("eu-west-1") == 3 and len(sleeps.delays) == 2
    assert elapsed < 1.5  # the slow region did not serialize the scan
    warnings = [r.getMessage() for r in discovery_log.records if r.levelname == "WARNING"]
    denied = [w for w in warnings if "eu-central-1" in w]
    opt_in = [w for w in warnings if "ca-central-1" in w]
    assert len(warnings) == 2, warnings  # one line per cause
    assert "AccessDeniedException" in denied[0]
    assert "UnrecognizedClientException" in opt_in[0]
    # Fastest first, unmeasured last: the slow region sorts after the others.
    assert discovery.latency.order(["ap-northeast-1", "us-east-1", "sa-east-1"]) == [
        "us-east-1",
        "ap-northeast-1",
        "sa-east-1",
    ]

    fake_bedrock.reset_counts()
    assert discovery.scan(regions) == found
    assert fake_bedrock.count() == 0  # warm: cached lists and remembered denials


def test_throttled_past_expiry_serves_the_stale_list_with_a_warning(
    make_models, fake_bedrock, clock, discovery_log
):
    discovery = make_models()
    fresh = discovery.list_models("eu-west-1")
    clock.advance(THREE_DAYS + 60)  # past the disk lifetime
    fake_bedrock.throttle("eu-west-1")
    fake_bedrock.reset_counts()

    assert discovery.list_models("eu-west-1") == fresh
    assert fake_bedrock.count("eu-west-1") == 3  # retried before giving up
    stale = [r.getMessage() for r in discovery_log.records if "expired" in r.getMessage()]
    assert stale and "eu-west-1" in stale[0] and "ThrottlingException" in stale[0]


def test_throttled_without_a_cached_value_raises_naming_the_region(
    make_models, fake_bedrock, sleeps
):
    fake_bedrock.throttle("us-west-2")
    with pytest.raises(BedrockDiscoveryError) as caught:
        make_models().list_models("us-west-2")
    assert caught.value.region == "us-west-2"
    assert caught.value.code == "ThrottlingException"
    assert str(caught.value).startswith("us-west-2: ListFoundationModels failed: Throttling")
    assert len(sleeps.delays) == 2 and all(0 <= d <= 2.0 for d in sleeps.delays)


def test_a_denied_region_is_empty_with_a_warning_or_raises_on_request(
    make_models, fake_bedrock, discovery_log
):
    fake_bedrock.deny("eu-west-3")
    discovery = make_models()
    assert discovery.list_models("eu-west-3") == []
    assert any("eu-west-3" in r.getMessage() for r in discovery_log.records)
    with pytest.raises(RegionUnavailableError, match="eu-west-3"):
        discovery.list_models("eu-west-3", skip_unavailable=False)
    fake_bedrock.heal()
    assert discovery.list_models("eu-west-3", refresh=True)  # refresh forgets the denial


def test_refresh_calls_aws_and_replaces_the_cached_list(make_models, fake_bedrock):
    discovery = make_models()
    before = discovery.list_models("us-west-2")
    fake_bedrock.catalog["us-west-2"].models.append(
        foundation_model("acme.new-model-v1:0", "us-west-2", provider="Acme")
    )
    assert discovery.list_models("us-west-2") == before  # cached
    refreshed = discovery.list_models("us-west-2", refresh=True)
    assert "acme.new-model-v1:0" in ids(refreshed)
    assert discovery.list_models("us-west-2") == refreshed
    assert make_models(refresh=True).list_models("us-west-2") == refreshed
    assert fake_bedrock.count(operation="ListFoundationModels") == 3


def test_use_cache_false_always_calls_and_stores_nothing(make_models, fake_bedrock, cache):
    discovery = make_models(use_cache=False)
    discovery.list_models("us-east-1")
    discovery.list_models("us-east-1")
    assert fake_bedrock.count(operation="ListFoundationModels") == 2
    assert cache.get_model_cache("us-east-1") is None


def test_find_model_regions_fastest_first(make_models, fake_bedrock):
    # Well above a client's first request on a loaded machine (0.2 s was not, once).
    fake_bedrock.delay("us-east-1", 0.6)
    discovery = make_models()
    regions = discovery.find_model_regions(
        "anthropic.claude-3-5-sonnet-20241022-v2:0",
        ["us-east-1", "us-east-2", "eu-west-1", "us-west-2"],
    )
    assert sorted(regions) == ["us-east-1", "us-east-2", "us-west-2"]  # not offered in eu
    assert regions == discovery.latency.order(sorted(regions))  # as measured ...
    assert regions[-1] == "us-east-1"  # ... so the slow region comes last


def test_clearing_model_data_keeps_latency(make_models, cache):
    discovery = make_models()
    discovery.scan(["us-east-1", "eu-west-1"])
    assert discovery.clear_cache() == 2
    cache.invalidate("bedrock_models:us-east-1")
    cache.cleanup()
    assert cache.get_model_cache("eu-west-1") is None
    assert cache.get(LATENCY_KEY) is not None
    assert set(discovery.latency.stats()) == {"us-east-1", "eu-west-1"}


def test_clients_are_lazy_reused_and_honour_endpoint_url(fake_bedrock, session):
    made = []

    def factory(region):
        made.append(region)
        time.sleep(0.01)  # widen the race window
        return session.client("bedrock", region_name=region, endpoint_url=fake_bedrock.url)

    clients = BedrockClients(client_factory=factory)
    assert made == []
    threads = [threading.Thread(target=clients.client, args=("us-east-1",)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert made == ["us-east-1"]
    assert clients.client("us-east-1") is clients.client("us-east-1")

    built = BedrockClients(session, endpoint_url=fake_bedrock.url)
    assert built.created_regions() == []
    assert built.client("eu-west-1").meta.endpoint_url == fake_bedrock.url
    assert built.client("eu-west-1").meta.region_name == "eu-west-1"


def test_a_client_factory_is_used_as_given(fake_bedrock, session, cache, fast_retry):
    discovery = BedrockModelDiscovery(
        client_factory=lambda r: session.client(
            "bedrock", region_name=r, endpoint_url=fake_bedrock.url
        ),
        cache=cache,
        retry=fast_retry,
    )
    assert HAIKU in ids(discovery.list_models("ap-southeast-2"))


def test_importing_the_discovery_modules_does_not_import_boto3(tmp_path):
    code = (
        "import sys\n"
        "import dbp.llm.bedrock.discovery.bedrock.models, dbp.llm.bedrock.discovery.bedrock.profiles\n"
        "import dbp.llm.bedrock.discovery.cli, dbp.llm.bedrock.discovery.testing\n"
        "assert 'boto3' not in sys.modules and 'botocore' not in sys.modules, 'boto3 imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=tmp_path)


def test_a_shared_cache_answers_a_second_discovery_object(make_models, fake_bedrock, make_cache):
    make_models().scan(["us-east-1", "eu-west-1"])
    other = make_models(cache=make_cache())
    fake_bedrock.reset_counts()
    assert set(other.scan(["us-east-1", "eu-west-1"])) == {"us-east-1", "eu-west-1"}
    assert fake_bedrock.count() == 0 and other.api_calls == 0
