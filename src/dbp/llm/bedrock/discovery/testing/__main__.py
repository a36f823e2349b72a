"""Run the Bedrock stand-in from a shell: ``python -m dbp.llm.bedrock.discovery.testing``.

Prints its URL and the environment to export (dummy credentials: the stand-in
reads the region and access key from the signature, never checks the secret),
then serves until interrupted.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from typing import Any, TextIO

from .catalogue import DEFAULT_ACCOUNT
from .server import FakeBedrockServer

__all__ = ["main"]

#: Dummy credentials boto3 signs with; any values work against the stand-in.
ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "stand-in",
    "AWS_SECRET_ACCESS_KEY": "stand-in",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m dbp.llm.bedrock.discovery.testing",
        description="Serve the local Bedrock stand-in (not AWS) on 127.0.0.1.",
    )
    parser.add_argument(
        "--port", type=int, default=0, help="TCP port (default: one the OS chooses)"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    args = _parse(argv)
    out = out or sys.stdout
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    try:
        server = FakeBedrockServer(port=args.port).start()
    except OSError as exc:
        out.write(f"cannot listen on 127.0.0.1:{args.port}: {exc.strerror}\n")
        return 1
    lines = [
        f"Bedrock stand-in (not AWS) listening on {server.url}; account {DEFAULT_ACCOUNT}.",
        "Export this, then pass --endpoint-url $URL to dbp-discovery:",
        f"export URL={server.url}",
        *(f"export {name}={value}" for name, value in ENVIRONMENT.items()),
    ]
    out.write("\n".join(lines) + "\n")
    out.flush()
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
