"""Which ID do I invoke for model X from region R, and may my account use it?

Offline by default: the AWS Bedrock control plane is replaced by a LOCAL STAND-IN
(``dbp.llm.bedrock.discovery.testing.FakeBedrockServer``, started in this process
on 127.0.0.1). The boto3 clients are real; only the endpoint is local. With
``--aws`` (or ``--profile NAME``) the same code asks real AWS with your credentials.

    python examples/resolve.py                      # offline, against the stand-in
    python examples/resolve.py --aws --region us-west-2 --model amazon.nova-pro-v1:0

It resolves a few models (on demand, profile-only, LEGACY, not authorized, not
offered), lists every region a model can be invoked from, fastest first, then
resolves everything again from a new cache object on the same folder: 0 API calls.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
import tempfile

from offline import connect

from dbp.llm.bedrock.discovery import BedrockResolver, DiscoveryCache, ModelNotAvailableError

OFFLINE_REGIONS = ["us-east-1", "us-east-2", "us-west-2", "eu-central-1", "eu-west-1",
                   "eu-west-3", "ap-northeast-1", "ap-southeast-2"]  # fmt: skip
OFFLINE_DELAYS = {"us-east-1": 0.02, "us-east-2": 0.03, "us-west-2": 0.05, "eu-central-1": 0.08,
                  "eu-west-1": 0.07, "eu-west-3": 0.09, "ap-northeast-1": 0.12,
                  "ap-southeast-2": 0.14}  # fmt: skip
#: (model, region) pairs that show every kind of answer on the stand-in's catalogue.
OFFLINE_CASES = [
    ("anthropic.claude-3-haiku-20240307-v1:0", "eu-west-1"),  # on demand
    ("anthropic.claude-3-5-sonnet-20241022-v2:0", "us-west-2"),  # only through us. profile
    ("amazon.nova-pro-v1:0", "ap-northeast-1"),  # only through the global. profile
    ("anthropic.claude-v2:1", "eu-west-1"),  # LEGACY, with an end-of-life date
    ("meta.llama3-2-1b-instruct-v1:0", "us-east-1"),  # the account is not authorized
    ("anthropic.claude-3-5-sonnet-20241022-v2:0", "eu-west-1"),  # not offered in Europe
]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--aws", action="store_true", help="use real AWS (default: stand-in)")
    parser.add_argument("--profile", help="AWS profile (implies --aws)")
    parser.add_argument("--region", default="us-east-1", help="region to resolve from (--aws)")
    parser.add_argument("--model", action="append", help="model to resolve (--aws; repeatable)")
    parser.add_argument("--regions", help="comma-separated candidate regions for resolve_all")
    parser.add_argument("--cache-dir", help="cache folder (default: a fresh temp folder)")
    return parser.parse_args()


def show(resolver: BedrockResolver, cases: list[tuple[str, str]]) -> None:
    for model, region in cases:
        try:
            found = resolver.resolve(model, region)
        except ModelNotAvailableError as exc:
            print(f"  {model} from {region}\n      -> not available: {exc.reason}")
            print(f"         offered in: {', '.join(exc.available_in) or '-'}")
            continue
        print(f"  {model} from {region}\n      -> {found.invoke_id}  ({found.method}, "
              f"routes to {len(found.routes_to)} region(s), {found.lifecycle})")  # fmt: skip
        if not found.invocable:
            print(f"         NOT INVOCABLE: {found.access.reason}")
        for warning in found.warnings:
            print(f"         warning: {warning}")


def main() -> int:
    args = parse_args()
    logging.basicConfig(level=logging.ERROR)  # the example prints the warnings itself
    base_dir = args.cache_dir or tempfile.mkdtemp(prefix="dbp-resolve-")
    server, session, endpoint_url = connect(args.aws, args.profile, OFFLINE_DELAYS)
    if server is None:
        models = args.model or ["anthropic.claude-3-haiku-20240307-v1:0"]
        cases = [(m, args.region) for m in models]
        regions = args.regions.split(",") if args.regions else None
    else:
        cases = OFFLINE_CASES
        regions = args.regions.split(",") if args.regions else OFFLINE_REGIONS
    print(f"Cache folder: {base_dir}\n")

    try:
        resolver = BedrockResolver(
            session, endpoint_url=endpoint_url, cache=DiscoveryCache(base_dir), regions=regions
        )
        print("1. resolve (cold cache):")
        show(resolver, cases)
        print(f"   {resolver.api_calls} API call(s)\n")

        model = cases[0][0]
        print(f"2. every region {model} can be invoked from, fastest first:")
        for found in resolver.resolve_all(model):
            average = resolver.latency.average(found.region)
            shown = "-" if average is None else f"{average * 1000:.0f} ms"
            print(f"  {found.region:<16} {shown:>7}   {found.invoke_id}")
        print()

        restarted = BedrockResolver(
            session, endpoint_url=endpoint_url, cache=DiscoveryCache(base_dir), regions=regions
        )
        for model, region in cases:
            with contextlib.suppress(ModelNotAvailableError):  # cached too
                restarted.resolve(model, region)
        print(f"3. the same resolves from a new cache object (disk): "
              f"{restarted.api_calls} API call(s)")  # fmt: skip
    finally:
        if server is not None:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
