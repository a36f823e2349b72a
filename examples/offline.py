"""What the examples share: a local Bedrock stand-in and a boto3 session for it."""

from __future__ import annotations

from typing import Any


def start_stand_in(delays: dict[str, float]) -> tuple[Any, Any]:
    """Start the bundled stand-in with per-region delays; return it and a session for it."""
    import boto3

    from dbp.llm.bedrock.discovery.testing import FakeBedrockServer

    server = FakeBedrockServer().start()
    for region, delay in delays.items():
        server.delay(region, delay)
    session = boto3.Session(
        aws_access_key_id="stand-in", aws_secret_access_key="stand-in", region_name="us-east-1"
    )
    print(f"OFFLINE: using a local Bedrock STAND-IN at {server.url} (not AWS).")
    return server, session


def connect(aws: bool, profile: str | None, delays: dict[str, float]) -> tuple[Any, Any, Any]:
    """``(stand-in or None, session, endpoint_url)``: real AWS with ``--aws``/``--profile``
    (credentials from the profile or the default chain), else the local stand-in."""
    import boto3

    if aws or profile is not None:
        print(f"Using REAL AWS (credentials from {profile or 'the default chain'})")
        return None, boto3.Session(profile_name=profile), None
    server, session = start_stand_in(delays)
    return server, session, server.url
