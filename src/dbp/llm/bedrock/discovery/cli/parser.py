"""The argument parser: every command, its options, and which handler runs it."""

from __future__ import annotations

import argparse
from typing import Any

from ..bedrock.target_kinds import TARGET_KINDS
from ..bedrock.vocabulary import CUSTOMIZATIONS, INFERENCE_TYPES, LIFECYCLES, MODALITIES
from .aws_commands import cmd_access, cmd_models, cmd_profiles, cmd_regions, cmd_resolve
from .cache_commands import cmd_cache_cleanup, cmd_cache_clear, cmd_cache_info, cmd_cache_ls
from .context import PROG
from .target_commands import cmd_targets
from .watching import DEFAULT_SCAN_SECONDS

__all__ = ["build_parser"]

#: ``bedrock.resolution.PREFERENCES``, repeated so ``--help`` imports no Bedrock module
#: beyond the plain-data ones above.
PREFERENCES = ("geo", "global", "application", "provisioned")


def positive_int(text: str) -> int:
    """An integer of at least 1 (``--max-attempts 0`` is a usage error, exit 2)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _common_options(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """Options accepted before or after the command (``SUPPRESS`` keeps the top value)."""
    default: Any = None if top else argparse.SUPPRESS
    flag: Any = False if top else argparse.SUPPRESS
    group = parser.add_argument_group("common options")
    group.add_argument(
        "--cache-dir",
        default=default,
        metavar="DIR",
        help="cache base folder (default: $DBP_CACHE_DIR or the user cache dir)",
    )
    group.add_argument(
        "--redis-url",
        default=default,
        metavar="URL",
        help="shared Redis/Valkey tier, e.g. redis://host:6379/0 (default: $DBP_REDIS_URL)",
    )
    for name, what in (
        ("ca-certs", "CA bundle the rediss:// server is checked against"),
        ("certfile", "client certificate for rediss://"),
        ("keyfile", "client certificate's key for rediss://"),
    ):
        variable = "DBP_REDIS_SSL_" + name.upper().replace("-", "_")
        group.add_argument(
            f"--redis-ssl-{name}", default=default, metavar="FILE", help=f"{what} (${variable})"
        )
    group.add_argument(
        "--redis-iam",
        default=default,
        metavar="SPEC",
        help="ElastiCache/MemoryDB IAM auth, e.g. user_id=app,cache_name=my-cache,"
        "region=us-east-1[,serverless=true][,service=memorydb] (default: $DBP_REDIS_IAM)",
    )
    group.add_argument(
        "--endpoint-url",
        default=default,
        metavar="URL",
        help="Bedrock (and STS) endpoint, e.g. a local stand-in",
    )
    group.add_argument("--profile", default=default, metavar="NAME", help="AWS profile name")
    group.add_argument(
        "--account-id",
        default=default,
        metavar="ID",
        help="caller's AWS account id (skips STS GetCallerIdentity)",
    )
    group.add_argument(
        "--max-attempts",
        type=positive_int,
        default=default,
        metavar="N",
        help="tries per call when throttled (default 4; 1 = no retry)",
    )
    switches = (
        (("--refresh",), "call AWS even if cached, and store the fresh answer"),
        (("--no-cache",), "neither read nor write the cache"),
        (("--json",), "machine-readable JSON on stdout"),
        (("-v", "--verbose"), "more log output, and cache/API counts on stderr"),
        (("--debug",), "show tracebacks on errors"),
    )
    for names, text in switches:
        group.add_argument(*names, action="store_true", default=flag, help=text)


def _watching_options(parser: argparse.ArgumentParser, *, by_function: bool) -> None:
    parser.add_argument(
        "--scan-seconds",
        type=float,
        default=DEFAULT_SCAN_SECONDS,
        metavar="S",
        help="stop scanning the shared tier after about S seconds (default 2)",
    )
    if by_function:
        parser.add_argument(
            "--by-function", action="store_true", help="statistics per cached function too"
        )


def _cache_actions(cache: argparse.ArgumentParser) -> None:
    """``cache info``, ``cache ls``, ``cache cleanup`` and ``cache clear``."""
    actions = cache.add_subparsers(dest="action", metavar="ACTION", required=True)
    for name, help_text, handler in (
        (
            "info",
            "folder, entries, size, and hit statistics of this host (and the fleet, with Redis)",
            cmd_cache_info,
        ),
        ("ls", "list the cached entries (and the shared tier's, with Redis)", cmd_cache_ls),
        ("cleanup", "remove expired, corrupt and abandoned files", cmd_cache_cleanup),
    ):
        action = actions.add_parser(name, help=help_text, description=help_text)
        _common_options(action, top=False)
        action.set_defaults(handler=handler)
        if name in ("info", "ls"):
            _watching_options(action, by_function=name == "info")
    clear = actions.add_parser("clear", help="remove one key, keys matching a glob, or everything")
    _common_options(clear, top=False)
    clear.add_argument(
        "key", nargs="?", help="key or glob such as 'bedrock_models:*' (default: all)"
    )
    clear.set_defaults(handler=cmd_cache_clear)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Discover AWS Bedrock models, inference profiles and regions, cached "
        "in memory and on disk.",
        epilog="Exit codes: 0 ok, 1 error (for resolve and access: the account may not use "
        "the model), 2 usage.",
    )
    _common_options(parser, top=True)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        _common_options(sub, top=False)
        return sub

    models = command("models", "list the foundation models of a region")
    models.add_argument("--region", help="AWS region (default: the profile's region)")
    models.add_argument("--provider", help="only this provider (e.g. Anthropic)")
    for names, dest, values, text in (
        (("--input",), "input_modality", MODALITIES, "only models taking this input"),
        (("--output", "--output-modality"), "output_modality", MODALITIES, "only models producing"),
        (("--inference-type",), "inference_type", INFERENCE_TYPES, "only models invocable as"),
        (("--customization",), "customization", CUSTOMIZATIONS, "only models supporting"),
        (("--lifecycle",), "lifecycle", LIFECYCLES, "only models whose lifecycle is"),
    ):
        models.add_argument(
            *names, dest=dest, choices=values, metavar="X", help=f"{text}: {', '.join(values)}"
        )
    models.add_argument(
        "--streaming",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="only models that stream responses (--no-streaming: only those that do not)",
    )
    models.set_defaults(handler=cmd_models)

    profiles = command("profiles", "list the inference profiles of a region")
    profiles.add_argument("--region", help="AWS region (default: the profile's region)")
    profiles.add_argument("--model", help="only profiles routing this model id or ARN")
    profiles.add_argument("--type", choices=("SYSTEM_DEFINED", "APPLICATION"), dest="profile_type")
    profiles.set_defaults(handler=cmd_profiles)

    regions = command("regions", "regions offering a model, fastest first")
    regions.add_argument("--model", required=True, help="model id or ARN")
    regions.add_argument(
        "--regions",
        metavar="R1,R2",
        help="candidate regions (default: every Bedrock region botocore knows)",
    )
    regions.add_argument(
        "--max-workers",
        type=positive_int,
        default=8,
        metavar="N",
        help="regions scanned at once (default 8)",
    )
    regions.set_defaults(handler=cmd_regions)

    model_help = (
        "model id or ARN, inference-profile id or ARN, or the name or ARN of a provisioned "
        "throughput, custom model, deployment, imported model, prompt router or marketplace "
        "endpoint"
    )
    resolve = command(
        "resolve", "the ID to pass to Converse/InvokeModel for a model, and whether it may be used"
    )
    resolve.add_argument("model", metavar="MODEL", help=model_help)
    resolve.add_argument("--region", help="AWS region (default: the profile's region)")
    resolve.add_argument(
        "--prefer",
        choices=PREFERENCES,
        default="geo",
        help="geographic profile (us., eu. ...) before global. (geo, the default), the "
        "reverse (global), your application profile first (application), or your "
        "InService provisioned throughput first (provisioned)",
    )
    resolve.add_argument(
        "--all-regions",
        action="store_true",
        help="every region it can be invoked from, fastest first",
    )
    resolve.add_argument(
        "--regions",
        metavar="R1,R2",
        help="candidate regions for --all-regions and for naming the regions that offer a "
        "model (default: every Bedrock region botocore knows)",
    )
    resolve.add_argument(
        "--max-workers", type=positive_int, default=8, metavar="N", help="regions resolved at once"
    )
    resolve.add_argument(
        "--all-targets",
        action="store_true",
        help="every way the account can invoke the model in the region (on demand, "
        "profiles, provisioned throughput, deployments), with their states",
    )
    resolve.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="print only the invoke ID (with --all-regions: REGION<TAB>ID lines)",
    )
    resolve.set_defaults(handler=cmd_resolve)

    targets = command(
        "targets",
        "the account's provisioned throughput, custom models, deployments, imported models, "
        "prompt routers and marketplace endpoints, with invoke IDs and states",
    )
    targets.add_argument("--region", help="AWS region (default: the profile's region)")
    targets.add_argument("--type", choices=TARGET_KINDS, dest="target_type", help="one kind only")
    targets.set_defaults(handler=cmd_targets)

    access = command("access", "whether your account may use a model in a region")
    access.add_argument("model", metavar="MODEL", help=model_help)
    access.add_argument("--region", help="AWS region (default: the profile's region)")
    access.set_defaults(handler=cmd_access)

    _cache_actions(command("cache", "inspect or clear the discovery cache"))
    return parser
