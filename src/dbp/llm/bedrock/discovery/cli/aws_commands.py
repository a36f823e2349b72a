"""Commands that ask AWS: ``models``, ``profiles``, ``regions``.

boto3 is imported inside each command, never at module level, so the parser can
reference these handlers without loading it.
"""

from __future__ import annotations

from .context import PROG, CliError, Context
from .output import print_json, print_table

__all__ = ["cmd_models", "cmd_profiles", "cmd_regions"]


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
