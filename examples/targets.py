"""What do I invoke for my provisioned throughput, custom model, router ...?

Offline by default: the AWS Bedrock control plane is replaced by a LOCAL STAND-IN
(``dbp.llm.bedrock.discovery.testing.FakeBedrockServer``, started in this process
on 127.0.0.1) whose account owns one of every kind of target, in every state. The
boto3 clients are real; only the endpoint is local. With ``--aws`` (or
``--profile NAME``) the same code lists and resolves your account's targets.

    python examples/targets.py                      # offline, against the stand-in
    python examples/targets.py --aws --region us-east-1

It lists the account's targets, resolves each kind (and the ones that are not
usable, which are reported, never handed out), shows every way to invoke a
foundation model, and resolves again from a new cache object: 0 API calls.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
import tempfile

from offline import connect

from dbp.llm.bedrock.discovery import BedrockResolver, DiscoveryCache, TargetNotUsableError

HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
#: (what to resolve, what it is) on the stand-in's us-east-1 catalogue.
OFFLINE_CASES = [
    ("haiku-pt", "provisioned throughput (InService)"),
    ("faq-bot", "custom model with an Active deployment"),
    ("support-bot", "custom model with provisioned throughput only"),
    ("my-llama", "imported model"),
    ("my-router", "custom prompt router"),
    ("Anthropic Prompt Router", "default prompt router"),
    ("solar-pro", "marketplace endpoint (REGISTERED)"),
    ("nova-pt", "provisioned throughput still Creating"),
    ("draft-bot", "custom model whose deployment is Creating"),
    ("old-endpoint", "marketplace endpoint INCOMPATIBLE_ENDPOINT"),
]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--aws", action="store_true", help="use real AWS (default: stand-in)")
    parser.add_argument("--profile", help="AWS profile (implies --aws)")
    parser.add_argument("--region", default="us-east-1", help="region")
    parser.add_argument("--cache-dir", help="cache folder (default: a fresh temp folder)")
    return parser.parse_args()


def show(resolver: BedrockResolver, cases: list[tuple[str, str]], region: str) -> None:
    for wanted, what in cases:
        print(f"  {wanted}  ({what})")
        try:
            found = resolver.resolve(wanted, region)
        except TargetNotUsableError as exc:
            print(f"      -> NOT USABLE: {exc}")
            continue
        print(f"      -> {found.method}: {found.invoke_id}")
        if found.note:
            print(f"         note: {found.note}")


def main() -> int:
    args = parse_args()
    logging.basicConfig(level=logging.ERROR)  # the example prints what matters itself
    base_dir = args.cache_dir or tempfile.mkdtemp(prefix="dbp-targets-")
    server, session, endpoint_url = connect(args.aws, args.profile, {})
    print(f"Cache folder: {base_dir}\n")
    region = args.region

    try:
        resolver = BedrockResolver(
            session, endpoint_url=endpoint_url, cache=DiscoveryCache(base_dir), regions=[region]
        )
        targets = resolver.targets.list_targets(region)
        print(f"1. the account's targets in {region}:")
        for target in targets:
            state = target.state or "-"
            print(f"  {target.kind:<12} {target.name:<24} {state:<22} usable={target.usable}")
        print(f"   {resolver.api_calls} API call(s)\n")

        print("2. resolve each kind:")
        cases = OFFLINE_CASES if server is not None else [(t.name, t.label) for t in targets]
        show(resolver, cases, region)
        print()

        print(f"3. every way to invoke {HAIKU} in {region}:")
        for route in resolver.all_targets(HAIKU, region):
            shown = route.invoke_id if route.usable else "not usable"
            print(f"  {route.method:<18} {shown}")
        bought = resolver.resolve(HAIKU, region, prefer="provisioned")
        print(f"   prefer='provisioned' -> {bought.method}: {bought.invoke_id}\n")

        restarted = BedrockResolver(
            session, endpoint_url=endpoint_url, cache=DiscoveryCache(base_dir), regions=[region]
        )
        for wanted, _ in cases:
            with contextlib.suppress(TargetNotUsableError):  # answered from the cache too
                restarted.resolve(wanted, region)
        print(f"4. the same resolves from a new cache object (disk): "
              f"{restarted.api_calls} API call(s)")  # fmt: skip
    finally:
        if server is not None:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
