"""``targets``: the account's other invocation targets; and ``resolve --all-targets``.

boto3 is imported inside each command (through the context), never at module level.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .context import PROG, CliError, Context
from .output import print_json, print_table

if TYPE_CHECKING:
    from ..bedrock.resolver import BedrockResolver

__all__ = ["cmd_targets", "print_routes"]


def cmd_targets(ctx: Context) -> None:
    """Every provisioned throughput, custom model, deployment ... with its invoke ID and state."""
    args = ctx.args
    kinds = [args.target_type] if args.target_type else None
    targets = ctx.targets().list_targets(ctx.region(), kinds, skip_unavailable=False)
    if args.json:
        print_json([t.to_dict() for t in targets], ctx.out)
        return
    if not targets:
        ctx.err.write(f"{PROG}: no targets of that kind in this region\n")
        return
    rows = [
        [
            t.kind,
            t.name,
            t.state or "-",
            (t.invoke_id or "via deployment or provisioned throughput")
            if t.usable
            else "not usable",
            t.note or "",
        ]
        for t in targets
    ]
    print_table(["KIND", "NAME", "STATE", "INVOKE ID", "NOTE"], rows, ctx.out)


def print_routes(ctx: Context, resolver: BedrockResolver, region: str) -> None:
    """``resolve --all-targets``: every way to invoke the model, usable ones first."""
    routes = resolver.all_targets(ctx.args.model, region)
    if ctx.args.json:
        print_json([r.to_dict() for r in routes], ctx.out)
    elif routes:
        rows = [
            [r.method, r.name or "-", r.state or "-", r.invoke_id if r.usable else "not usable"]
            for r in sorted(routes, key=lambda r: not r.usable)
        ]
        print_table(["METHOD", "NAME", "STATE", "INVOKE ID"], rows, ctx.out)
    if not any(r.usable for r in routes):
        raise CliError(f"no way to invoke {ctx.args.model} in {region} for this account")
