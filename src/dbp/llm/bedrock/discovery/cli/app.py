"""``dbp-discovery``: Bedrock models, profiles and regions from the shell, cached.

[Intent]
Answer "which models / profiles are in region R" and "where is model M, fastest
first" without a Python session, and inspect or clear the cache behind them.

[Design principles]
- Warnings and progress go to stderr; progress only when stderr is a terminal and
  never with ``--json``.
- Exit codes: 0 ok, 1 error (one line, no traceback; ``--debug`` shows it),
  2 usage (argparse). ``resolve`` and ``access`` exit 1 when the account may not
  use the model, with the reason on one line.
- boto3 is imported only by commands that talk to AWS: ``cache ...`` and
  ``--help`` stay fast and work without it.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Sequence
from typing import TextIO

from .context import LOGGER, PROG, Context, UsageError
from .parser import build_parser

__all__ = ["main"]

_NO_BOTO3 = (
    "this command talks to AWS and needs boto3, which is not installed: "
    "pip install 'dbp-discovery-cache[bedrock]'"
)


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
    except UsageError as exc:
        err.write(f"{PROG}: error: {exc}\n")
        return 2
    except Exception as exc:
        if args.debug:
            raise
        missing = isinstance(exc, ModuleNotFoundError) and exc.name in ("boto3", "botocore")
        err.write(f"{PROG}: error: {_NO_BOTO3 if missing else _describe(exc)}\n")
        return 1
    finally:
        LOGGER.removeHandler(handler)
    ctx.report_counts()
    if args.verbose:
        err.write(f"{PROG}: done in {time.perf_counter() - started:.3f}s\n")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
