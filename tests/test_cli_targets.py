"""``dbp-discovery targets``, ``resolve --all-targets``, the ``models`` filters, and small fixes."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import pytest

from dbp.llm.bedrock.discovery.cli import main

HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"


@pytest.fixture
def cli(fake_bedrock, tmp_path, capsys):
    """Run the CLI in this process against the stand-in: ``(code, stdout, stderr)``
    (argparse's usage errors go to the process's stderr)."""

    def run(*args: str) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        argv = ["--endpoint-url", fake_bedrock.url, "--cache-dir", str(tmp_path), *args]
        code = main(argv, out=out, err=err)
        return code, out.getvalue(), err.getvalue() + capsys.readouterr().err

    return run


def rows(stdout: str) -> list[list[str]]:
    return [line.split() for line in stdout.splitlines()[1:]]


def test_targets_lists_every_kind_with_invoke_id_and_state(cli):
    code, out, err = cli("targets", "--region", "us-east-1")
    assert code == 0, err
    assert out.splitlines()[0].split() == ["KIND", "NAME", "STATE", "INVOKE", "ID", "NOTE"]
    kinds = {row[0] for row in rows(out)}
    assert kinds == {"provisioned", "custom", "deployment", "imported", "router", "marketplace"}
    by_name = {row[1]: row for row in rows(out)}
    assert by_name["haiku-pt"][2:4] == ["InService", by_name["haiku-pt"][3]]
    assert ":provisioned-model/" in by_name["haiku-pt"][3]
    assert by_name["nova-pt"][2:] == ["Creating", "not", "usable"]
    assert "Converse does not take imported models" in out


def test_targets_of_one_type_as_json(cli):
    code, out, _ = cli("targets", "--region", "us-east-1", "--type", "marketplace", "--json")
    assert code == 0
    found = {t["name"]: t for t in json.loads(out)}
    assert found["solar-pro"]["usable"] and found["solar-pro"]["invokeId"].endswith("/solar-pro")
    assert found["old-endpoint"]["state"] == "INCOMPATIBLE_ENDPOINT"
    assert found["old-endpoint"]["invokeId"] is None


def test_an_unknown_target_type_is_a_usage_error_listing_the_kinds(cli):
    code, _, err = cli("targets", "--type", "throughput")
    assert code == 2
    assert "provisioned" in err and "marketplace" in err


def test_resolve_all_targets_lists_every_way_and_json_carries_them(cli):
    code, out, err = cli("resolve", HAIKU, "--region", "us-east-1", "--all-targets")
    assert code == 0, err
    assert [row[0] for row in rows(out)] == ["on-demand", "inference-profile", "provisioned"]
    code, out, _ = cli("resolve", HAIKU, "--region", "us-east-1", "--json")
    shown = json.loads(out)
    assert shown["invokeId"] == HAIKU
    assert [t["method"] for t in shown["allTargets"]] == [
        "on-demand",
        "inference-profile",
        "provisioned",
    ]


def test_resolve_a_target_and_prefer_provisioned(cli):
    code, out, _ = cli("resolve", "faq-bot", "--region", "us-east-1", "-q")
    assert code == 0 and ":custom-model-deployment/" in out
    code, out, _ = cli("resolve", HAIKU, "--region", "us-east-1", "--prefer", "provisioned", "-q")
    assert code == 0 and ":provisioned-model/" in out
    code, out, err = cli("resolve", "nova-pt", "--region", "us-east-1", "-q")
    assert (code, out) == (1, "")
    assert "provisioned throughput nova-pt in us-east-1 is Creating, not usable" in err


def test_pending_access_exits_1_with_its_own_line(cli, fake_bedrock):
    fake_bedrock.set_access(HAIKU, agreement="PENDING")
    code, out, err = cli("access", HAIKU, "--region", "us-east-1")
    assert code == 1
    assert "access               pending: model access requested, not yet granted" in out
    assert f"may not use {HAIKU} in us-east-1 yet: model access requested" in err
    code, _, err = cli("resolve", HAIKU, "--region", "eu-west-1")
    assert code == 1 and "yet: model access requested, not yet granted" in err


@pytest.mark.parametrize(
    ("option", "value", "expected"),
    [
        ("--input", "VIDEO", {"amazon.nova-pro-v1:0"}),
        ("--output", "EMBEDDING", {"cohere.embed-english-v3"}),
        ("--output-modality", "EMBEDDING", {"cohere.embed-english-v3"}),
        ("--inference-type", "INFERENCE_PROFILE", {HAIKU, "amazon.nova-pro-v1:0"}),
        ("--customization", "FINE_TUNING", {"amazon.titan-text-express-v1"}),
        ("--lifecycle", "LEGACY", {"anthropic.claude-v2:1"}),
        ("--no-streaming", None, {"cohere.embed-english-v3"}),
    ],
)
def test_models_filters(cli, option, value, expected):
    code, out, err = cli("models", "--region", "eu-west-1", option, *([value] if value else []))
    assert code == 0, err
    assert {row[0] for row in rows(out)} == expected


def test_streaming_filter_keeps_the_streaming_models(cli):
    code, out, _ = cli("models", "--region", "eu-west-1", "--streaming")
    assert code == 0
    assert "cohere.embed-english-v3" not in out and HAIKU in out


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("--output", "text"), "'TEXT', 'IMAGE', 'EMBEDDING', 'VIDEO'"),
        (("--inference-type", "BOGUS"), "'ON_DEMAND', 'PROVISIONED', 'INFERENCE_PROFILE'"),
        (("--input", "PICTURE"), "'TEXT', 'IMAGE'"),
        (("--lifecycle", "OLD"), "'ACTIVE', 'LEGACY'"),
        (("--customization", "TUNING"), "'FINE_TUNING', 'CONTINUED_PRE_TRAINING'"),
    ],
)
def test_an_unknown_filter_value_is_a_usage_error_listing_the_accepted_ones(cli, args, named):
    code, out, err = cli("models", "--region", "us-east-1", *args)
    assert (code, out) == (2, "")
    assert "invalid choice" in err and named in err


def test_the_library_checks_filter_values_too(make_models):
    with pytest.raises(ValueError, match=r"output_modality must be one of TEXT, IMAGE, EMBEDDING"):
        make_models().list_models("us-east-1", output_modality="text")
    with pytest.raises(ValueError, match=r"inference_type must be one of .*; not 'BOGUS'"):
        make_models().list_models("us-east-1", inference_type="BOGUS")


def test_accepted_values_cover_botocores_enums_and_what_aws_sends_beyond_them():
    import botocore.session

    from dbp.llm.bedrock.discovery.bedrock import vocabulary

    model = botocore.session.get_session().get_service_model("bedrock")
    for shape, accepted in (
        ("ModelModality", vocabulary.MODALITIES),
        ("InferenceType", vocabulary.INFERENCE_TYPES),
        ("ModelCustomization", vocabulary.CUSTOMIZATIONS),
        ("FoundationModelLifecycleStatus", vocabulary.LIFECYCLES),
    ):
        assert set(model.shape_for(shape).enum) <= set(accepted), shape
    assert "INFERENCE_PROFILE" in vocabulary.INFERENCE_TYPES
    assert "VIDEO" in vocabulary.MODALITIES


@pytest.mark.parametrize(
    "args",
    [
        ("--max-attempts", "0", "models", "--region", "us-east-1"),
        ("regions", "--model", HAIKU, "--max-workers", "0"),
        ("resolve", HAIKU, "--max-workers", "0"),
        ("models", "--max-attempts", "-1"),
    ],
)
def test_zero_attempts_or_workers_is_a_usage_error(cli, args):
    code, _, err = cli(*args)
    assert code == 2
    assert "must be at least 1" in err


def test_without_boto3_the_cli_says_what_to_install(tmp_path, aws_env):
    script = (
        "import sys; sys.modules['boto3'] = None\n"  # as if boto3 were not installed
        "from dbp.llm.bedrock.discovery.cli import main\n"
        "sys.exit(main(['models', '--region', 'us-east-1']))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env={**os.environ, **aws_env, "DBP_CACHE_DIR": str(tmp_path)},
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stderr.strip() == (
        "dbp-discovery: error: this command talks to AWS and needs boto3, which is not "
        "installed: pip install 'dbp-discovery-cache[bedrock]'"
    )
