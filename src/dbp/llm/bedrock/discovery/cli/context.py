"""What every command shares: parsed arguments, the cache, the boto3 session.

[Design principles]
- The cache, the session and the discovery objects are built lazily, on first use:
  ``cache ...`` and ``--help`` never import boto3.
- Every discovery object a command builds is remembered, so ``-v`` can report how
  many API calls the command made (0 on a warm run).
"""

from __future__ import annotations

import argparse
import logging
import os
from typing import Any, TextIO

from dbp.cache.fleet import ENV_TLS, check_fleet_url, env_options

from ..cache import ENV_REDIS_IAM, LOGGER_NAME, DiscoveryCache, iam_provider
from .output import Progress

__all__ = ["LOGGER", "PROG", "CliError", "Context", "UsageError"]

PROG = "dbp-discovery"
LOGGER = logging.getLogger(LOGGER_NAME)


class CliError(Exception):
    """An error reported as one line and exit code 1."""


class UsageError(CliError):
    """Options that argparse accepts but that exclude each other: exit code 2."""


class Context:
    """Parsed arguments plus the lazily built cache and discovery objects."""

    def __init__(self, args: argparse.Namespace, out: TextIO, err: TextIO) -> None:
        self.args = args
        self.out = out
        self.err = err
        self._cache: DiscoveryCache | None = None
        self._session: Any = None
        self.discoveries: list[Any] = []

    @property
    def cache(self) -> DiscoveryCache:
        if self._cache is None:
            if self.args.no_cache:
                self._cache = DiscoveryCache(
                    self.args.cache_dir, memory_ttl_seconds=0, disk_ttl_days=0
                )
            else:
                self._cache = DiscoveryCache(self.args.cache_dir, **self.fleet_options())
        return self._cache

    def fleet_options(self) -> dict[str, Any]:
        """The Redis tier's options: each ``--redis-*`` option, else its variable.

        A bad ``--redis-url`` is a usage error; a bad ``$DBP_REDIS_URL`` is warned
        about and ignored (see :func:`dbp.cache.fleet.env_options`).
        """
        redis_url = self.args.redis_url
        if redis_url:
            try:
                check_fleet_url(redis_url, "--redis-url")
            except (ImportError, ValueError) as exc:
                raise UsageError(str(exc)) from None
        found = env_options(LOGGER, redis_url)
        for option in ENV_TLS:
            given = getattr(self.args, option, None)
            if given:
                found[option] = given
        spec = self.args.redis_iam or os.environ.get(ENV_REDIS_IAM)
        if spec and found.get("redis_url"):
            source = "--redis-iam" if self.args.redis_iam else f"${ENV_REDIS_IAM}"
            try:
                found["redis_credential_provider"] = iam_provider(spec, source)
            except ValueError as exc:
                raise UsageError(str(exc)) from None
        return found

    def session(self) -> Any:
        if self._session is None:
            import boto3

            self._session = boto3.Session(profile_name=self.args.profile)
        return self._session

    def region(self) -> str:
        region = self.args.region or self.session().region_name
        if not region:
            raise CliError("no region given: pass --region or configure a default region")
        return str(region)

    def options(self) -> dict[str, Any]:
        from ..bedrock.errors import RetryPolicy

        attempts = self.args.max_attempts  # at least 1: the parser checks it
        return {
            "retry": RetryPolicy() if attempts is None else RetryPolicy(attempts=attempts),
            "endpoint_url": self.args.endpoint_url,
            "cache": self.cache,
            "use_cache": not self.args.no_cache,
            "refresh": self.args.refresh,
        }

    def models(self) -> Any:
        from ..bedrock.models import BedrockModelDiscovery

        discovery = BedrockModelDiscovery(self.session(), **self.options())
        self.discoveries.append(discovery)
        return discovery

    def profiles(self) -> Any:
        from ..bedrock.profiles import BedrockProfileDiscovery

        discovery = BedrockProfileDiscovery(
            self.session(), account_id=self.args.account_id, **self.options()
        )
        self.discoveries.append(discovery)
        return discovery

    def targets(self) -> Any:
        from ..bedrock.targets import BedrockTargetDiscovery

        discovery = BedrockTargetDiscovery(
            self.session(), account_id=self.args.account_id, **self.options()
        )
        self.discoveries.append(discovery)
        return discovery

    def resolver(self, regions: list[str] | None = None) -> Any:
        from ..bedrock.resolver import BedrockResolver

        resolver = BedrockResolver(
            self.session(), account_id=self.args.account_id, regions=regions, **self.options()
        )
        self.discoveries.append(resolver)
        return resolver

    def progress(self, label: str) -> Progress | None:
        if self.args.json or not self.err.isatty():
            return None
        return Progress(self.err, label)

    def report_counts(self) -> None:
        """With ``-v``: how many API calls were made (0 on a warm run)."""
        if self.args.verbose and self.discoveries:
            calls = sum(d.api_calls for d in self.discoveries)
            self.err.write(f"{PROG}: {calls} API call(s); cache folder {self.cache.cache_dir}\n")
