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
