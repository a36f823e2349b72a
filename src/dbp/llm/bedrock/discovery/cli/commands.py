"""``dbp-discovery``: Bedrock models, profiles and regions from the shell, cached.

[Intent]
Answer "which models / profiles are in region R" and "where is model M, fastest
first" without a Python session, and inspect or clear the cache behind them.

[Design principles]
- Human output is an aligned table on stdout; ``--json`` is machine-readable JSON
  (datetimes as ISO-8601 strings). Warnings and progress go to stderr; progress
  only when stderr is a terminal and never with ``--json``.
- Exit codes: 0 ok, 1 error (one line, no traceback; ``--debug`` shows it),
  2 usage (argparse).
- boto3 is imported only by commands that talk to AWS: ``cache ...`` and
  ``--help`` stay fast and work without it.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import fnmatch
import json
import logging
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any, TextIO

from ..cache import LOGGER_NAME, DiscoveryCache

__all__ = ["main"]

PROG = "dbp-discovery"
LOGGER = logging.getLogger(LOGGER_NAME)


class CliError(Exception):
    """An error reported as one line and exit code 1."""


# -- output helpers ----------------------------------------------------------------
def _json_default(value: Any) -> Any:
    if isinstance(value, (_dt.datetime, _dt.date)):
        return value.isoformat()
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def print_json(data: Any, out: TextIO) -> None:
    out.write(json.dumps(data, indent=2, default=_json_default) + "\n")


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]], out: TextIO) -> None:
    """Left-aligned columns separated by two spaces; the last column is not padded."""
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=False)]
    for line in (headers, *rows):
        cells = [cell.ljust(w) for cell, w in zip(line[:-1], widths, strict=False)] + [line[-1]]
        out.write("  ".join(cells).rstrip() + "\n")


def _when(epoch: float) -> str:
    return _dt.datetime.fromtimestamp(epoch, _dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _duration(seconds: float) -> str:
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds >= size:
            return f"{sign}{seconds / size:.1f}{unit}"
    return f"{sign}{seconds:.0f}s"


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB"):
        if n < 1024 or unit == "MiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"  # pragma: no cover


class Progress:
    """``[3/17] scanning regions ... eu-west-1`` on one rewritten stderr line."""

    def __init__(self, stream: TextIO, label: str) -> None:
        self.stream = stream
        self.label = label
        self.width = 0

    def __call__(self, done: int, total: int, region: str) -> None:
        text = f"[{done}/{total}] {self.label} ... {region}"
        self.width = max(self.width, len(text))
        self.stream.write("\r" + text.ljust(self.width))
        self.stream.flush()

    def close(self) -> None:
        if self.width:
            self.stream.write("\r" + " " * self.width + "\r")
            self.stream.flush()


# -- argument parsing ------------------------------------------------------------------
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
    group.add_argument(
        "--refresh",
        action="store_true",
        default=flag,
        help="call AWS even if cached, and store the fresh answer",
    )
    group.add_argument(
        "--no-cache", action="store_true", default=flag, help="neither read nor write the cache"
    )
    group.add_argument(
        "--json", action="store_true", default=flag, help="machine-readable JSON on stdout"
    )
    group.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=flag,
        help="more log output, and cache/API counts on stderr",
    )
    group.add_argument(
        "--debug", action="store_true", default=flag, help="show tracebacks on errors"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Discover AWS Bedrock models, inference profiles and regions, cached "
        "in memory and on disk.",
        epilog="Exit codes: 0 ok, 1 error, 2 usage.",
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


# -- context shared by the commands ---------------------------------------------------------
class Context:
    """Parsed arguments plus the lazily built cache and discovery objects."""

    def __init__(self, args: argparse.Namespace, out: TextIO, err: TextIO) -> None:
        self.args = args
        self.out = out
        self.err = err
        self._cache: DiscoveryCache | None = None
        self._session: Any = None
        self.discoveries: list[Any] = []

    @property
    def cache(self) -> DiscoveryCache:
        if self._cache is None:
            if self.args.no_cache:
                self._cache = DiscoveryCache(
                    self.args.cache_dir, memory_ttl_seconds=0, disk_ttl_days=0
                )
            else:
                self._cache = DiscoveryCache(self.args.cache_dir)
        return self._cache

    def session(self) -> Any:
        if self._session is None:
            import boto3

            self._session = boto3.Session(profile_name=self.args.profile)
        return self._session

    def region(self) -> str:
        region = self.args.region or self.session().region_name
        if not region:
            raise CliError("no region given: pass --region or configure a default region")
        return str(region)

    def options(self) -> dict[str, Any]:
        from ..bedrock.errors import RetryPolicy

        attempts = self.args.max_attempts
        if attempts is not None and attempts < 1:
            raise CliError("--max-attempts must be at least 1")
        return {
            "retry": RetryPolicy() if attempts is None else RetryPolicy(attempts=attempts),
            "endpoint_url": self.args.endpoint_url,
            "cache": self.cache,
            "use_cache": not self.args.no_cache,
            "refresh": self.args.refresh,
        }

    def models(self) -> Any:
        from ..bedrock.models import BedrockModelDiscovery

        discovery = BedrockModelDiscovery(self.session(), **self.options())
        self.discoveries.append(discovery)
        return discovery

    def profiles(self) -> Any:
        from ..bedrock.profiles import BedrockProfileDiscovery

        discovery = BedrockProfileDiscovery(
            self.session(), account_id=self.args.account_id, **self.options()
        )
        self.discoveries.append(discovery)
        return discovery

    def progress(self, label: str) -> Progress | None:
        if self.args.json or not self.err.isatty():
            return None
        return Progress(self.err, label)

    def report_counts(self) -> None:
        """With ``-v``: how many API calls were made (0 on a warm run)."""
        if self.args.verbose and self.discoveries:
            calls = sum(d.api_calls for d in self.discoveries)
            self.err.write(f"{PROG}: {calls} API call(s); cache folder {self.cache.cache_dir}\n")


# -- AWS commands ----------------------------------------------------------------------------
def cmd_models(ctx: Context) -> None:
    from ..bedrock.models import inference_access

    args = ctx.args
    models = ctx.models().list_models(
        ctx.region(),
        provider=args.provider,
        output_modality=args.output_modality,
        inference_type=args.inference_type,
        skip_unavailable=False,
    )
    if args.json:
        print_json(models, ctx.out)
        return
    rows = [
        [
            str(m.get("modelId", "")),
            str(m.get("providerName", "")),
            str(m.get("modelName", "")),
            ",".join(m.get("inputModalities") or []),
            ",".join(m.get("outputModalities") or []),
            inference_access(m),
            str((m.get("modelLifecycle") or {}).get("status", "")),
        ]
        for m in sorted(models, key=lambda m: str(m.get("modelId", "")))
    ]
    print_table(
        ["MODEL ID", "PROVIDER", "NAME", "INPUT", "OUTPUT", "INFERENCE", "STATUS"], rows, ctx.out
    )


def cmd_profiles(ctx: Context) -> None:
    from ..bedrock.data import profile_model_ids, profile_regions

    args = ctx.args
    profiles = ctx.profiles().list_profiles(
        ctx.region(), model=args.model, profile_type=args.profile_type, skip_unavailable=False
    )
    if args.json:
        print_json(profiles, ctx.out)
        return
    rows = [
        [
            str(p.get("inferenceProfileId", "")),
            str(p.get("type", "")),
            str(p.get("status", "")),
            ",".join(profile_model_ids(p)),
            ",".join(profile_regions(p)),
        ]
        for p in profiles
    ]
    print_table(["PROFILE ID", "TYPE", "STATUS", "MODELS", "ROUTES TO"], rows, ctx.out)


def cmd_regions(ctx: Context) -> None:
    from ..bedrock.models import inference_access

    args = ctx.args
    if args.max_workers < 1:
        raise CliError("--max-workers must be at least 1")
    discovery = ctx.models()
    candidates = [r.strip() for r in args.regions.split(",") if r.strip()] if args.regions else None
    progress = ctx.progress("scanning regions")
    try:
        found = discovery.scan(
            candidates, max_workers=args.max_workers, progress=progress, on_error="skip"
        )
    finally:
        if progress is not None:
            progress.close()
    offering = {
        region: model
        for region, models in found.items()
        for model in models
        if args.model in (model.get("modelId"), model.get("modelArn"))
    }
    ordered = discovery.latency.order(offering)
    stats = discovery.latency.stats()
    result = [
        {
            "region": region,
            "latencyMs": round(stats[region].average * 1000, 1) if region in stats else None,
            "access": inference_access(offering[region]),
            "requiresInferenceProfile": inference_access(offering[region]) == "profile-only",
        }
        for region in ordered
    ]
    if args.json:
        print_json(result, ctx.out)
        return
    if not result:
        ctx.err.write(f"{PROG}: no scanned region offers {args.model}\n")
        return
    rows = [
        [r["region"], "-" if r["latencyMs"] is None else f"{r['latencyMs']:.0f} ms", r["access"]]
        for r in result
    ]
    print_table(["REGION", "LATENCY", "ACCESS"], rows, ctx.out)


# -- cache commands -----------------------------------------------------------------------------
def _entry_rows(cache: DiscoveryCache) -> list[dict[str, Any]]:
    now = cache.clock.time()
    rows = []
    for entry in cache.entries():
        if entry.key is None:
            state = "unreadable"
        elif now < entry.expires:
            state = "fresh"
        elif now < entry.stale_until:
            state = "stale"
        else:
            state = "expired"
        rows.append(
            {
                "key": entry.key,
                "file": entry.path,
                "size": entry.size,
                "created": entry.created if entry.key else None,
                "expires": entry.expires if entry.key else None,
                "state": state,
                "owner": entry.owner,
            }
        )
    rows.sort(key=lambda r: (r["key"] is None, r["key"] or r["file"]))
    return rows


def cmd_cache_info(ctx: Context) -> None:
    cache = ctx.cache
    rows = _entry_rows(cache)
    readable = [r for r in rows if r["key"] is not None]
    oldest = min(readable, key=lambda r: r["created"], default=None)
    newest = max(readable, key=lambda r: r["created"], default=None)
    info = {
        "folder": cache.cache_dir,
        "entries": len(rows),
        "fresh": sum(r["state"] == "fresh" for r in rows),
        "expired": sum(r["state"] in ("stale", "expired") for r in rows),
        "unreadable": sum(r["state"] == "unreadable" for r in rows),
        "size": sum(r["size"] for r in rows),
        "oldest": None if oldest is None else {"key": oldest["key"], "created": oldest["created"]},
        "newest": None if newest is None else {"key": newest["key"], "created": newest["created"]},
        "memory_ttl_seconds": cache.memory_ttl_seconds,
        "disk_ttl_seconds": cache.disk_ttl_seconds,
        "hits": None,  # counted per process only; a fresh CLI process has none
    }
    if ctx.args.json:
        print_json(info, ctx.out)
        return
    lines = [
        ("folder", info["folder"]),
        (
            "entries",
            f"{info['entries']} ({info['fresh']} fresh, {info['expired']} expired, "
            f"{info['unreadable']} unreadable)",
        ),
        ("size", _size(info["size"])),
        ("oldest", "-" if oldest is None else f"{_when(oldest['created'])}  {oldest['key']}"),
        ("newest", "-" if newest is None else f"{_when(newest['created'])}  {newest['key']}"),
        (
            "ttl",
            f"memory {_duration(cache.memory_ttl_seconds)}, "
            f"disk {_duration(cache.disk_ttl_seconds)}",
        ),
        ("hits", "not recorded across processes (-v on a command shows its API calls)"),
    ]
    width = max(len(name) for name, _ in lines)
    for name, value in lines:
        ctx.out.write(f"{name.ljust(width)}  {value}\n")


def cmd_cache_ls(ctx: Context) -> None:
    cache = ctx.cache
    rows = _entry_rows(cache)
    if ctx.args.json:
        print_json(rows, ctx.out)
        return
    now = cache.clock.time()
    table = [
        [
            r["key"] or f"<unreadable {r['file']}>",
            _size(r["size"]),
            "-" if r["created"] is None else _duration(now - r["created"]),
            "-" if r["expires"] is None else _duration(r["expires"] - now),
            r["state"],
        ]
        for r in rows
    ]
    print_table(["KEY", "SIZE", "AGE", "EXPIRES IN", "STATE"], table, ctx.out)


def cmd_cache_clear(ctx: Context) -> None:
    cache = ctx.cache
    pattern = ctx.args.key
    if pattern is None:
        removed = cache.invalidate()
    elif any(c in pattern for c in "*?["):
        keys = {e.key for e in cache.entries() if e.key and fnmatch.fnmatchcase(e.key, pattern)}
        removed = sum(cache.invalidate(key) for key in sorted(keys))
    else:
        removed = cache.invalidate(pattern)
    if ctx.args.json:
        print_json({"removed": removed}, ctx.out)
    else:
        ctx.out.write(f"removed {removed} entr{'y' if removed == 1 else 'ies'}\n")


def cmd_cache_cleanup(ctx: Context) -> None:
    removed = ctx.cache.cleanup()
    if ctx.args.json:
        print_json({"removed": removed}, ctx.out)
    else:
        ctx.out.write(f"removed {removed} file{'' if removed == 1 else 's'}\n")


# -- entry point ---------------------------------------------------------------------------
def _setup_logging(err: TextIO, verbose: bool) -> logging.Handler:
    handler = logging.StreamHandler(err)
    handler.setFormatter(logging.Formatter(f"{PROG}: %(levelname)s: %(message)s"))
    LOGGER.addHandler(handler)
    LOGGER.setLevel(logging.INFO if verbose else logging.WARNING)
    LOGGER.propagate = False
    return handler


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    message = text[0] if text else type(exc).__name__
    module = type(exc).__module__
    if module.startswith(("botocore", "boto3")) and type(exc).__name__ not in message:
        return f"{type(exc).__name__}: {message}"
    return message


def main(
    argv: Sequence[str] | None = None, *, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    """Run the CLI; returns the exit code (``sys.exit(main())`` in the console script)."""
    out = out or sys.stdout
    err = err or sys.stderr
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # usage errors (2) and --help (0)
        return int(exc.code or 0)
    handler = _setup_logging(err, args.verbose)
    ctx = Context(args, out, err)
    handler_fn: Callable[[Context], None] = args.handler
    started = time.perf_counter()
    try:
        handler_fn(ctx)
    except KeyboardInterrupt:
        err.write(f"{PROG}: interrupted\n")
        return 130
    except BrokenPipeError:
        return 1
    except Exception as exc:
        if args.debug:
            raise
        err.write(f"{PROG}: error: {_describe(exc)}\n")
        return 1
    finally:
        LOGGER.removeHandler(handler)
    ctx.report_counts()
    if args.verbose:
        err.write(f"{PROG}: done in {time.perf_counter() - started:.3f}s\n")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
