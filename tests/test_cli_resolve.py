"""``dbp-discovery resolve`` and ``access``, end to end in subprocesses against the stand-in."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
SONNET = "anthropic.claude-3-5-sonnet-20241022-v2:0"
LLAMA = "meta.llama3-2-1b-instruct-v1:0"
CLAUDE_V2 = "anthropic.claude-v2:1"
US = "us-east-1,us-east-2,us-west-2"
SCANNED = f"{US},eu-west-1,eu-central-1"


@pytest.fixture
def env(fake_bedrock, aws_env, tmp_path):
    return {**os.environ, **aws_env, "DBP_CACHE_DIR": str(tmp_path / "cli-cache")}


@pytest.fixture
def cli(fake_bedrock, env):
    """Run ``python -m dbp.llm.bedrock.discovery ARGS`` with the stand-in and a private cache."""

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "dbp.llm.bedrock.discovery",
                "--endpoint-url",
                fake_bedrock.url,
                *args,
            ],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )

    return run


def fields(stdout: str) -> dict[str, str]:
    """``name  value`` lines (names may hold one space) as a dict."""
    return dict(re.split(r"\s{2,}", line, maxsplit=1) for line in stdout.splitlines())


def test_resolve_prints_the_resolution_and_a_warm_run_makes_no_api_call(cli, fake_bedrock):
    cold = cli("resolve", SONNET, "--region", "us-east-1")
    assert cold.returncode == 0, cold.stderr
    shown = fields(cold.stdout)
    assert shown["invoke id"] == f"us.{SONNET}"
    assert shown["method"] == "inference-profile"
    assert shown["profile"] == f"us.{SONNET} (SYSTEM_DEFINED)"
    assert shown["routes to"] == "us-east-1, us-east-2, us-west-2"
    assert shown["lifecycle"] == "ACTIVE"
    assert shown["access"] == "allowed"
    assert cold.stderr == ""

    fake_bedrock.reset_counts()
    warm = cli("resolve", SONNET, "--region", "us-east-1", "-v")
    assert warm.stdout == cold.stdout
    assert "0 API call(s)" in warm.stderr
    assert fake_bedrock.count() == 0


def test_quiet_prints_the_invoke_id_alone_for_shell_substitution(cli, fake_bedrock, env):
    quiet = cli("resolve", HAIKU, "--region", "eu-west-1", "--quiet")
    assert (quiet.returncode, quiet.stdout) == (0, f"{HAIKU}\n")

    command = (
        f'id=$("{sys.executable}" -m dbp.llm.bedrock.discovery --endpoint-url {fake_bedrock.url} '
        f'resolve {SONNET} --region us-west-2 --quiet) && echo "modelId=$id"'
    )
    shell = subprocess.run(["bash", "-c", command], capture_output=True, text=True, env=env)
    assert shell.stdout == f"modelId=us.{SONNET}\n", shell.stderr


def test_resolve_json_is_machine_readable(cli):
    result = cli("resolve", CLAUDE_V2, "--region", "eu-west-1", "--json")
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert found["invokeId"] == CLAUDE_V2 and found["method"] == "on-demand"
    assert found["lifecycle"] == {"status": "LEGACY", "endOfLifeTime": "2026-07-21T00:00:00+00:00"}
    assert found["access"]["status"] == "allowed" and found["invocable"] is True
    # The LEGACY warning goes to stderr, naming the date; stdout stays pure JSON.
    assert "LEGACY (end of life 2026-07-21)" in result.stderr


def test_a_model_the_account_may_not_use_exits_1_with_one_line(cli):
    shown = cli("resolve", LLAMA, "--region", "us-east-1")
    assert shown.returncode == 1
    assert fields(shown.stdout)["invoke id"] == f"us.{LLAMA}"
    assert shown.stderr.splitlines() == [
        f"dbp-discovery: error: account 111122223333 may not use {LLAMA} in us-east-1: "
        "not authorized (authorizationStatus NOT_AUTHORIZED); no agreement accepted: "
        "request model access (agreementAvailability NOT_AVAILABLE)"
    ]
    quiet = cli("resolve", LLAMA, "--region", "us-east-1", "--quiet")
    assert (quiet.returncode, quiet.stdout) == (1, "")  # $(...) gets nothing


def test_a_model_the_region_does_not_offer_names_the_regions_that_do(cli):
    result = cli("resolve", SONNET, "--region", "eu-west-1", "--regions", SCANNED, "--quiet")
    assert (result.returncode, result.stdout) == (1, "")
    [line] = result.stderr.splitlines()
    assert line.startswith(f"dbp-discovery: error: {SONNET} is not available in eu-west-1 (")
    assert "regions that offer it: " in line
    assert set(line.rsplit(": ", 1)[1].split(", ")) == set(US.split(","))


def test_all_regions_table_quiet_and_json(cli, fake_bedrock):
    # Well above a cold client's first request on a loaded machine (0.2 s was not, once).
    fake_bedrock.delay("us-west-2", 0.6)
    table = cli("resolve", SONNET, "--all-regions", "--regions", SCANNED)
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["REGION", "LATENCY", "METHOD", "INVOKE", "ID", "ACCESS"]
    assert [line.split()[0] for line in lines[1:]][-1] == "us-west-2"  # slowest last
    assert {line.split()[0] for line in lines[1:]} == set(US.split(","))
    assert all(f"us.{SONNET}" in line and line.endswith("allowed") for line in lines[1:])

    quiet = cli("resolve", SONNET, "--all-regions", "--regions", SCANNED, "--quiet")
    assert quiet.stdout.splitlines()[-1] == f"us-west-2\tus.{SONNET}"
    as_json = json.loads(cli("resolve", HAIKU, "--all-regions", "--regions", US, "--json").stdout)
    assert {r["region"] for r in as_json} == set(US.split(","))

    denied = cli("resolve", LLAMA, "--all-regions", "--regions", US)
    assert denied.returncode == 1
    assert len(denied.stdout.splitlines()) == 4  # the routes are shown, marked denied
    assert denied.stderr.splitlines()[-1].startswith(
        f"dbp-discovery: error: no scanned region can invoke {LLAMA}: account 111122223333"
    )


def test_prefer_application_uses_the_callers_profile(cli, fake_bedrock):
    mine = fake_bedrock.add_application_profile("111122223333", "us-east-1", "my-app", HAIKU)
    result = cli("resolve", HAIKU, "--region", "us-east-1", "--prefer", "application", "-q")
    assert result.stdout == mine["inferenceProfileArn"] + "\n"


def test_access_command(cli, fake_bedrock):
    allowed = cli("access", HAIKU, "--region", "us-east-1")
    assert allowed.returncode == 0, allowed.stderr
    shown = fields(allowed.stdout)
    assert shown["access"] == "allowed" and shown["account"] == "111122223333"
    assert shown["authorization"] == "AUTHORIZED"

    denied = cli("access", f"us.{LLAMA}", "--region", "us-east-1", "--json")
    assert denied.returncode == 1
    assert json.loads(denied.stdout)["authorizationStatus"] == "NOT_AUTHORIZED"
    assert denied.stderr.startswith(
        f"dbp-discovery: error: account 111122223333 may not use {LLAMA}"
    )

    fake_bedrock.deny("eu-west-1", operation="GetFoundationModelAvailability")
    unknown = cli("access", HAIKU, "--region", "eu-west-1")
    assert unknown.returncode == 0  # not known to be denied
    assert fields(unknown.stdout)["access"].startswith("unknown: ")
    assert "access is reported as 'unknown'" in unknown.stderr


def test_usage_errors_exit_2(cli):
    assert cli("resolve").returncode == 2  # MODEL missing
    bad_prefer = cli("resolve", HAIKU, "--prefer", "fastest")
    assert bad_prefer.returncode == 2 and "--prefer" in bad_prefer.stderr
    both = cli("resolve", HAIKU, "--quiet", "--json")
    assert both.returncode == 2
    assert both.stderr == "dbp-discovery: error: --quiet and --json exclude each other\n"
    assert cli("access").returncode == 2
