"""Commands that ask AWS: ``models``, ``profiles``, ``regions``, ``resolve``, ``access``
(``targets`` is in :mod:`.target_commands`).

boto3 is imported inside each command, never at module level, so the parser can
reference these handlers without loading it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from .context import PROG, CliError, Context, UsageError
from .output import print_fields, print_json, print_table
from .target_commands import print_routes

if TYPE_CHECKING:
    from ..bedrock.access import ModelAccess
    from ..bedrock.latency import RegionLatency
    from ..bedrock.resolution import Resolution
    from ..bedrock.resolver import BedrockResolver

__all__ = ["cmd_access", "cmd_models", "cmd_profiles", "cmd_regions", "cmd_resolve"]


def _listing(
    ctx: Context,
    items: list[dict[str, Any]],
    headers: Sequence[str],
    row: Callable[[dict[str, Any]], list[str]],
) -> None:
    """``items`` as JSON with ``--json``, else as a table of ``row(item)``."""
    if ctx.args.json:
        print_json(items, ctx.out)
    else:
        print_table(headers, [row(item) for item in items], ctx.out)


def _joined(values: Any) -> str:
    return ",".join(str(v) for v in values or [])


def cmd_models(ctx: Context) -> None:
    from ..bedrock.models import inference_access

    args = ctx.args
    models = ctx.models().list_models(
        ctx.region(),
        provider=args.provider,
        customization_type=args.customization,
        output_modality=args.output_modality,
        input_modality=args.input_modality,
        inference_type=args.inference_type,
        streaming=args.streaming,
        lifecycle=args.lifecycle,
        skip_unavailable=False,
    )
    if not args.json:
        models = sorted(models, key=lambda m: str(m.get("modelId", "")))
    _listing(
        ctx,
        models,
        ["MODEL ID", "PROVIDER", "NAME", "INPUT", "OUTPUT", "INFERENCE", "STATUS"],
        lambda m: [
            *(str(m.get(field, "")) for field in ("modelId", "providerName", "modelName")),
            _joined(m.get("inputModalities")),
            _joined(m.get("outputModalities")),
            inference_access(m),
            str((m.get("modelLifecycle") or {}).get("status", "")),
        ],
    )


def cmd_profiles(ctx: Context) -> None:
    from ..bedrock.data import profile_model_ids, profile_regions

    args = ctx.args
    profiles = ctx.profiles().list_profiles(
        ctx.region(), model=args.model, profile_type=args.profile_type, skip_unavailable=False
    )
    _listing(
        ctx,
        profiles,
        ["PROFILE ID", "TYPE", "STATUS", "MODELS", "ROUTES TO"],
        lambda p: [
            *(str(p.get(field, "")) for field in ("inferenceProfileId", "type", "status")),
            _joined(profile_model_ids(p)),
            _joined(profile_regions(p)),
        ],
    )


def cmd_regions(ctx: Context) -> None:
    from ..bedrock.models import inference_access

    args = ctx.args
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


def _region_list(text: str | None) -> list[str] | None:
    return [r.strip() for r in text.split(",") if r.strip()] if text else None


def _latency(stats: dict[str, RegionLatency], region: str) -> str:
    found = stats.get(region)
    return "-" if found is None else f"{found.average * 1000:.0f} ms"


def _access_text(access: ModelAccess | None) -> str:
    if access is None:
        return "n/a (the account's own resource)"
    return access.status if access.reason is None else f"{access.status}: {access.reason}"


def _resolution_fields(res: Resolution) -> list[tuple[str, str]]:
    lifecycle = res.lifecycle or "-"
    if res.end_of_life is not None:
        lifecycle += f" (end of life {res.end_of_life.date().isoformat()})"
    fields = [
        ("model", res.model_id),
        ("region", res.region),
        ("invoke id", res.invoke_id),
        ("method", res.method),
    ]
    if res.profile_id is not None:
        fields += [
            ("profile", f"{res.profile_id} ({res.profile_type})"),
            ("profile arn", str(res.profile_arn)),
        ]
    if res.target_kind is not None:
        fields.append(("target", f"{res.target_name} ({res.target_kind})"))
    fields += [
        ("routes to", ", ".join(res.routes_to)),
        ("lifecycle", lifecycle),
        ("access", _access_text(res.access)),
    ]
    return fields + ([("note", res.note)] if res.note else [])


def cmd_resolve(ctx: Context) -> None:
    args = ctx.args
    if args.quiet and args.json:
        raise UsageError("--quiet and --json exclude each other")
    if args.all_targets and (args.all_regions or args.quiet):
        raise UsageError("--all-targets excludes --all-regions and --quiet")
    candidates = _region_list(args.regions)
    resolver = ctx.resolver(candidates)
    if args.all_regions:
        _resolve_all(ctx, resolver, candidates)
        return
    region = ctx.region()
    if args.all_targets:
        print_routes(ctx, resolver, region)
        return
    res = resolver.resolve(args.model, region, prefer=args.prefer)
    if args.json:
        routes = resolver.all_targets(args.model, region)
        print_json({**res.to_dict(), "allTargets": [r.to_dict() for r in routes]}, ctx.out)
    elif args.quiet:
        if res.invocable:
            ctx.out.write(res.invoke_id + "\n")
    else:
        print_fields(_resolution_fields(res), ctx.out)
    if not res.invocable:
        raise CliError(res.reason)


def _resolve_all(ctx: Context, resolver: BedrockResolver, candidates: list[str] | None) -> None:
    args = ctx.args
    progress = ctx.progress("resolving regions")
    try:
        results = resolver.resolve_all(
            args.model,
            candidates,
            prefer=args.prefer,
            invocable_only=False,
            max_workers=args.max_workers,
            progress=progress,
        )
    finally:
        if progress is not None:
            progress.close()
    invocable = [r for r in results if r.invocable]
    if args.json:
        print_json([r.to_dict() for r in results], ctx.out)
    elif args.quiet:
        ctx.out.writelines(f"{r.region}\t{r.invoke_id}\n" for r in invocable)
    elif results:
        stats = resolver.latency.stats()
        rows = [
            [r.region, _latency(stats, r.region), r.method, r.invoke_id, _status(r)]
            for r in results
        ]
        print_table(["REGION", "LATENCY", "METHOD", "INVOKE ID", "ACCESS"], rows, ctx.out)
    if not results:
        raise CliError(f"no scanned region can invoke {args.model}")
    if not invocable:
        raise CliError(f"no scanned region can invoke {args.model}: {results[0].reason}")


def _status(res: Resolution) -> str:
    return "-" if res.access is None else res.access.status


def cmd_access(ctx: Context) -> None:
    args = ctx.args
    access = ctx.resolver().check_access(args.model, ctx.region())
    if args.json:
        print_json(access.to_dict(), ctx.out)
    else:
        print_fields(
            [
                ("model", access.model_id),
                ("region", access.region),
                ("account", access.account or "unknown"),
                ("access", _access_text(access)),
                ("agreement", access.agreement or "-"),
                ("authorization", access.authorization or "-"),
                ("entitlement", access.entitlement or "-"),
                ("region availability", access.region_availability or "-"),
            ],
            ctx.out,
        )
    if access.blocked:
        raise CliError(access.explain())
