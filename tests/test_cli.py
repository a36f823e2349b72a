"""The ``dbp-discovery`` command line, end to end in subprocesses against the local stand-in."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from dbp.llm.bedrock.discovery.cli import main

HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
SONNET = "anthropic.claude-3-5-sonnet-20241022-v2:0"


@pytest.fixture
def cli(fake_bedrock, aws_env, tmp_path):
    """Run ``python -m dbp.llm.bedrock.discovery ARGS`` with the stand-in and a private cache."""
    env = {**os.environ, **aws_env, "DBP_CACHE_DIR": str(tmp_path / "cli-cache")}

    def run(*args: str, endpoint: bool = True) -> subprocess.CompletedProcess[str]:
        extra = ["--endpoint-url", fake_bedrock.url] if endpoint else []
        return subprocess.run(
            [sys.executable, "-m", "dbp.llm.bedrock.discovery", *extra, *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )

    return run


def column_starts(line: str) -> list[int]:
    return [m.start() for m in re.finditer(r"(?:(?<=  )|^)\S", line)]


def test_models_table_is_aligned_and_a_warm_run_makes_no_api_call(cli, fake_bedrock):
    cold = cli("models", "--region", "us-east-1")
    assert cold.returncode == 0, cold.stderr
    lines = cold.stdout.splitlines()
    assert lines[0].split() == [
        "MODEL",
        "ID",
        "PROVIDER",
        "NAME",
        "INPUT",
        "OUTPUT",
        "INFERENCE",
        "STATUS",
    ]
    header_starts = column_starts(lines[0])
    nova = next(line for line in lines if line.startswith("amazon.nova-pro-v1:0"))
    assert column_starts(nova) == header_starts
    assert "profile-only" in nova
    assert len(lines) == 1 + 6
    assert fake_bedrock.count(operation="ListFoundationModels") == 1

    warm = cli("models", "--region", "us-east-1", "-v")
    assert warm.returncode == 0
    assert warm.stdout == cold.stdout
    assert fake_bedrock.count(operation="ListFoundationModels") == 1
    assert "0 API call(s)" in warm.stderr


def test_models_json_is_machine_readable_with_iso_datetimes(cli):
    result = cli("models", "--region", "eu-west-1", "--provider", "anthropic", "--json")
    assert result.returncode == 0, result.stderr
    models = json.loads(result.stdout)
    assert {m["modelId"] for m in models} == {HAIKU, "anthropic.claude-v2:1"}
    started = models[0]["modelLifecycle"]["startOfLifeTime"]
    assert started == "2024-06-01T00:00:00+00:00"


def test_profiles_for_a_model(cli):
    table = cli("profiles", "--region", "us-east-1", "--model", HAIKU)
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["PROFILE", "ID", "TYPE", "STATUS", "MODELS", "ROUTES", "TO"]
    assert lines[1].split() == [
        f"us.{HAIKU}",
        "SYSTEM_DEFINED",
        "ACTIVE",
        HAIKU,
        "us-east-1,us-east-2,us-west-2",
    ]
    as_json = json.loads(
        cli("profiles", "--region", "us-east-1", "--model", HAIKU, "--json").stdout
    )
    assert [p["inferenceProfileId"] for p in as_json] == [f"us.{HAIKU}"]
    assert as_json[0]["createdAt"] == "2024-08-27T00:00:00+00:00"


def test_regions_fastest_first_skipping_denied_regions(cli, fake_bedrock):
    # Well above a cold client's first request on a loaded machine (0.2 s was not, once).
    fake_bedrock.delay("us-west-2", 0.6)
    fake_bedrock.deny("us-east-2")
    regions = "us-west-2,us-east-1,us-east-2,eu-west-1"
    result = cli("regions", "--model", SONNET, "--regions", regions, "--json")
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert [r["region"] for r in found] == ["us-east-1", "us-west-2"]
    assert found[0]["access"] == "profile-only" and found[0]["requiresInferenceProfile"]
    assert found[0]["latencyMs"] < found[1]["latencyMs"]
    assert "us-east-2" in result.stderr and "AccessDeniedException" in result.stderr
    assert "\r" not in result.stderr  # no progress line on a pipe

    fake_bedrock.reset_counts()
    table = cli("regions", "--model", SONNET, "--regions", regions)
    assert table.stdout.splitlines()[0].split() == ["REGION", "LATENCY", "ACCESS"]
    assert [line.split()[0] for line in table.stdout.splitlines()[1:]] == ["us-east-1", "us-west-2"]
    assert fake_bedrock.count() == 0  # warm, including the remembered denial


def test_cache_info_ls_clear_and_cleanup(cli, tmp_path):
    assert cli("models", "--region", "us-east-1").returncode == 0
    assert cli("models", "--region", "eu-west-1").returncode == 0

    info = cli("cache", "info", endpoint=False)
    assert info.returncode == 0, info.stderr
    assert f"folder   {tmp_path / 'cli-cache' / 'cache'}" in info.stdout
    assert re.search(r"^entries  \d+ \(\d+ fresh", info.stdout, re.M)
    assert re.search(r"^oldest   \d{4}-\d\d-\d\d .* bedrock_models:us-east-1$", info.stdout, re.M)
    info_json = json.loads(cli("cache", "info", "--json", endpoint=False).stdout)
    assert info_json["entries"] >= 3 and info_json["size"] > 0

    listing = cli("cache", "ls", endpoint=False).stdout.splitlines()
    assert listing[0].split() == ["KEY", "SIZE", "AGE", "EXPIRES", "IN", "STATE"]
    keys = [line.split()[0] for line in listing[1:]]
    assert {"bedrock_models:us-east-1", "bedrock_models:eu-west-1", "bedrock_latency:v1"} <= set(
        keys
    )

    cleared = cli("cache", "clear", "bedrock_models:*", endpoint=False)
    assert cleared.stdout == "removed 2 entries\n"
    remaining = [e["key"] for e in json.loads(cli("cache", "ls", "--json", endpoint=False).stdout)]
    assert "bedrock_latency:v1" in remaining
    assert not any(k.startswith("bedrock_models:") for k in remaining)

    assert cli("cache", "cleanup", endpoint=False).stdout == "removed 0 files\n"
    assert cli("cache", "clear", endpoint=False).returncode == 0
    assert json.loads(cli("cache", "ls", "--json", endpoint=False).stdout) == []


def test_no_cache_and_refresh(cli, fake_bedrock, tmp_path):
    assert cli("--no-cache", "models", "--region", "us-east-1").returncode == 0
    assert cli("models", "--region", "us-east-1", "--no-cache").returncode == 0
    assert fake_bedrock.count(operation="ListFoundationModels") == 2
    assert not list((tmp_path / "cli-cache").rglob("*.dbpc"))
    assert cli("models", "--region", "us-east-1").returncode == 0
    assert cli("models", "--region", "us-east-1", "--refresh").returncode == 0
    assert fake_bedrock.count(operation="ListFoundationModels") == 4


def test_errors_are_one_line_with_exit_code_1(cli, fake_bedrock):
    fake_bedrock.deny("eu-west-3")
    denied = cli("models", "--region", "eu-west-3")
    assert denied.returncode == 1
    assert denied.stdout == ""
    assert denied.stderr.splitlines() == [
        "dbp-discovery: error: eu-west-3: ListFoundationModels failed: AccessDeniedException: "
        "User is not authorized to perform this bedrock action in this region."
    ]
    fake_bedrock.throttle("us-west-2")
    throttled = cli("models", "--region", "us-west-2", "--max-attempts", "2")
    assert throttled.returncode == 1 and "Traceback" not in throttled.stderr
    assert throttled.stderr.startswith(
        "dbp-discovery: error: us-west-2: ListFoundationModels failed: ThrottlingException"
    )
    assert "(after 2 attempts)" in throttled.stderr
    assert fake_bedrock.count("us-west-2") == 2


def test_usage_errors_exit_2_and_help_exits_0(cli):
    assert cli("bogus").returncode == 2
    missing = cli("regions")
    assert missing.returncode == 2 and "--model" in missing.stderr
    assert cli("cache").returncode == 2
    assert cli("profiles", "--type", "OTHER", "--region", "us-east-1").returncode == 2
    helped = cli("--help", endpoint=False)
    assert helped.returncode == 0 and "models" in helped.stdout and "Exit codes" in helped.stdout


def test_cache_commands_and_help_do_not_import_boto3(tmp_path, monkeypatch):
    monkeypatch.setenv("DBP_CACHE_DIR", str(tmp_path))
    code = (
        "import sys\n"
        "from dbp.llm.bedrock.discovery.cli import main\n"
        "for args in (['cache', 'info'], ['cache', 'ls'], ['cache', 'cleanup']):\n"
        "    assert main(args) == 0\n"
        "try:\n"
        "    main(['models', '--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "assert 'boto3' not in sys.modules and 'botocore' not in sys.modules\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_goes_to_a_terminal_stderr_only(fake_bedrock, aws_env):
    args = [
        "--endpoint-url",
        fake_bedrock.url,
        "regions",
        "--model",
        HAIKU,
        "--regions",
        "us-east-1,eu-west-1,ap-northeast-1",
    ]
    out, err = io.StringIO(), Terminal()
    assert main(args, out=out, err=err) == 0
    assert "[3/3] scanning regions" in err.getvalue()
    assert "scanning" not in out.getvalue()
    out, err = io.StringIO(), Terminal()
    assert main([*args, "--json"], out=out, err=err) == 0
    assert err.getvalue() == ""
    assert len(json.loads(out.getvalue())) == 3


def test_console_script_is_installed():
    script = Path(sys.executable).with_name("dbp-discovery")
    if not script.exists():
        pytest.skip("console script not installed in this environment")
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "dbp-discovery" in result.stdout


def test_the_multi_region_example_runs_offline_and_warm_runs_make_no_calls(tmp_path, aws_env):
    example = Path(__file__).resolve().parent.parent / "examples" / "multi_region.py"
    result = subprocess.run(
        [sys.executable, str(example), "--cache-dir", str(tmp_path / "example-cache")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "STAND-IN" in result.stdout
    lines = {line.split("  ")[0]: line for line in result.stdout.splitlines()}
    assert "9 API call(s)" in lines["1. cold (empty cache)"]
    assert "0 API call(s)" in lines["2. warm (memory)"]
    assert "0 API call(s)" in lines["3. warm (disk, new cache)"]
