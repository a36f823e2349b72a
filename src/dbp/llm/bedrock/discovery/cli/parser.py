"""The argument parser: every command, its options, and which handler runs it."""

from __future__ import annotations

import argparse
from typing import Any

from .aws_commands import cmd_access, cmd_models, cmd_profiles, cmd_regions, cmd_resolve
from .cache_commands import cmd_cache_cleanup, cmd_cache_clear, cmd_cache_info, cmd_cache_ls
from .context import PROG

__all__ = ["build_parser"]

#: ``bedrock.resolution.PREFERENCES``, repeated so ``--help`` imports no Bedrock module.
PREFERENCES = ("geo", "global", "application")


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
        type=int,
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
    models.add_argument(
        "--output-modality", help="only models producing TEXT, IMAGE, EMBEDDING ..."
    )
    models.add_argument(
        "--inference-type", help="only ON_DEMAND, PROVISIONED, INFERENCE_PROFILE ..."
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
        type=int,
        default=8,
        metavar="N",
        help="regions scanned at once (default 8)",
    )
    regions.set_defaults(handler=cmd_regions)

    model_help = "model id or ARN, or inference-profile id or ARN"
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
        "reverse (global), or your application profile first (application)",
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
        "--max-workers", type=int, default=8, metavar="N", help="regions resolved at once"
    )
    resolve.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="print only the invoke ID (with --all-regions: REGION<TAB>ID lines)",
    )
    resolve.set_defaults(handler=cmd_resolve)

    access = command("access", "whether your account may use a model in a region")
    access.add_argument("model", metavar="MODEL", help=model_help)
    access.add_argument("--region", help="AWS region (default: the profile's region)")
    access.set_defaults(handler=cmd_access)

    cache = command("cache", "inspect or clear the discovery cache")
    actions = cache.add_subparsers(dest="action", metavar="ACTION", required=True)
    for name, help_text, handler in (
        ("info", "folder, entry count, size, oldest and newest entry", cmd_cache_info),
        ("ls", "list the cached entries", cmd_cache_ls),
        ("cleanup", "remove expired, corrupt and abandoned files", cmd_cache_cleanup),
    ):
        action = actions.add_parser(name, help=help_text, description=help_text)
        _common_options(action, top=False)
        action.set_defaults(handler=handler)
    clear = actions.add_parser("clear", help="remove one key, keys matching a glob, or everything")
    _common_options(clear, top=False)
    clear.add_argument(
        "key", nargs="?", help="key or glob such as 'bedrock_models:*' (default: all)"
    )
    clear.set_defaults(handler=cmd_cache_clear)
    return parser
