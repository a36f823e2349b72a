"""Multi-region Bedrock discovery: cold vs warm timings and the number of API calls.

Offline by default: the AWS Bedrock control plane is replaced by a LOCAL STAND-IN
(``dbp.llm.bedrock.discovery.testing.FakeBedrockServer``, started in this process
on 127.0.0.1, with realistic per-region delays). The boto3 clients are real; only
the endpoint is local. With ``--aws`` (or ``--profile NAME``) the same code runs
against real AWS with your credentials.

    python examples/multi_region.py                 # offline, against the stand-in
    python examples/multi_region.py --aws --regions us-east-1,us-west-2,eu-west-1
    python examples/multi_region.py --profile my-sso-profile

Three passes over the same regions:
  1. cold:            empty cache, every region is an API call (scanned concurrently)
  2. warm, same process: answered from the in-memory tier
  3. warm, "restart": a new cache object on the same folder, answered from disk
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time

from offline import start_stand_in

from dbp.llm.bedrock.discovery import DiscoveryCache
from dbp.llm.bedrock.discovery.bedrock.models import (
    BedrockModelDiscovery,
    requires_inference_profile,
)
from dbp.llm.bedrock.discovery.bedrock.profiles import BedrockProfileDiscovery

OFFLINE_REGIONS = [
    "us-east-1",
    "us-east-2",
    "us-west-2",
    "eu-central-1",
    "eu-west-1",
    "eu-west-3",
    "ap-northeast-1",
    "ap-southeast-2",
    "ca-central-1",  # not enabled for the stand-in's account: skipped with a warning
]
#: Simulated round trips (seconds) so the stand-in behaves like distant regions.
OFFLINE_DELAYS = {"us-east-1": 0.08, "us-east-2": 0.09, "us-west-2": 0.12, "eu-central-1": 0.18,
                  "eu-west-1": 0.17, "eu-west-3": 0.19, "ap-northeast-1": 0.30,
                  "ap-southeast-2": 0.35}  # fmt: skip
MODEL = "anthropic.claude-3-haiku-20240307-v1:0"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--aws", action="store_true", help="use real AWS (default: stand-in)")
    parser.add_argument("--profile", help="AWS profile (implies --aws)")
    parser.add_argument("--regions", help="comma-separated regions to scan")
    parser.add_argument("--model", default=MODEL, help=f"model to locate (default {MODEL})")
    parser.add_argument("--cache-dir", help="cache folder (default: a fresh temp folder)")
    return parser.parse_args()


def timed(label: str, discovery: BedrockModelDiscovery, regions: list[str]) -> dict:
    before = discovery.api_calls
    started = time.perf_counter()
    found = discovery.scan(regions, on_error="skip")
    elapsed = time.perf_counter() - started
    calls = discovery.api_calls - before
    print(f"{label:<28} {elapsed * 1000:8.1f} ms   {calls:3d} API call(s)   "
          f"{sum(len(m) for m in found.values())} models in {len(found)} regions")  # fmt: skip
    return found


def main() -> int:
    args = parse_args()
    logging.basicConfig(level=logging.WARNING, format="  (warning) %(message)s")
    use_aws = args.aws or args.profile is not None
    base_dir = args.cache_dir or tempfile.mkdtemp(prefix="dbp-multi-region-")

    import boto3

    server = None
    if use_aws:
        session = boto3.Session(profile_name=args.profile)
        endpoint_url = None
        regions = args.regions or "us-east-1,us-west-2,eu-west-1,eu-central-1,ap-northeast-1"
        print(f"Using REAL AWS (account credentials from {args.profile or 'the default chain'})")
    else:
        server, session = start_stand_in(OFFLINE_DELAYS)
        endpoint_url = server.url
        regions = args.regions or ",".join(OFFLINE_REGIONS)
    region_list = [r.strip() for r in regions.split(",") if r.strip()]
    print(f"Cache folder: {base_dir}\nRegions: {', '.join(region_list)}\n")

    try:
        cache = DiscoveryCache(base_dir=base_dir)
        discovery = BedrockModelDiscovery(session, endpoint_url=endpoint_url, cache=cache)
        timed("1. cold (empty cache)", discovery, region_list)
        timed("2. warm (memory)", discovery, region_list)

        restarted = BedrockModelDiscovery(
            session, endpoint_url=endpoint_url, cache=DiscoveryCache(base_dir=base_dir)
        )
        found = timed("3. warm (disk, new cache)", restarted, region_list)
        if server is not None:
            print(f"\nRequests the stand-in received in total: {server.count()}")

        offering = restarted.latency.order(
            r for r, models in found.items() if any(m["modelId"] == args.model for m in models)
        )
        print(f"\n{args.model} is offered in (fastest first):")
        for region in offering:
            model = next(m for m in found[region] if m["modelId"] == args.model)
            average = restarted.latency.average(region)
            access = "profile only" if requires_inference_profile(model) else "on demand"
            shown = "-" if average is None else f"{average * 1000:.0f} ms"
            print(f"  {region:<16} {shown:>8}   {access}")

        if offering:
            profiles = BedrockProfileDiscovery(
                session, endpoint_url=endpoint_url, cache=cache
            ).profiles_for_model(args.model, offering[0])
            print(f"\nInference profiles for it in {offering[0]}:")
            for profile in profiles:
                print(f"  {profile['inferenceProfileId']:<48} -> "
                      f"{', '.join(BedrockProfileDiscovery.profile_models(profile))}")  # fmt: skip
    finally:
        if server is not None:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
