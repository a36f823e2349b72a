"""``BedrockClients``: one boto3 ``bedrock`` client per region, created on first use.

[Intent]
Discovery scans many regions from many threads. Creating a client is slow
(tens of milliseconds) and a ``boto3.Session`` is not thread-safe, while clients
are; so clients are created once per region, under a lock, and then shared.

[Design principles]
- Nothing is created at import or construction time: the first ``client(region)``
  call builds the session (if none was given) and the client.
- Callers choose the source: a ``boto3.Session``, a named AWS profile, or any
  ``factory(region) -> client`` (for custom credentials, stubs, other SDK setups).
- ``endpoint_url`` is honoured for every region (VPC endpoints, local stand-ins).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from typing import Any

from dbp.cache.metrics.otel import add_instruments

__all__ = ["API_CALLS", "ApiCalls", "BedrockClients", "ClientFactory"]

ClientFactory = Callable[[str], Any]


class ApiCalls:
    """The Bedrock API requests this process made, by operation, region and error type.

    Read by the ``dbp.bedrock.api.calls`` metric when OpenTelemetry metrics are on
    (:func:`dbp.cache.enable_metrics`); requests are slow, so a lock costs nothing.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, str, str | None], int] = {}

    def add(self, operation: str, region: str, error: str | None = None) -> None:
        """One request of ``operation`` (``ListFoundationModels`` ...) in ``region``."""
        key = (operation, region, error)
        with self._lock:
            self._counts[key] = self._counts.get(key, 0) + 1

    def counts(self) -> dict[tuple[str, str, str | None], int]:
        with self._lock:
            return dict(self._counts)

    def observe(self, options: Any) -> list[Any]:
        from opentelemetry.metrics import Observation

        found = []
        for (operation, region, error), count in self.counts().items():
            attributes = {"aws.operation": operation, "cloud.region": region}
            if error is not None:
                attributes["error.type"] = error
            found.append(Observation(count, attributes))
        return found


#: Every request of this process (retries included).
API_CALLS = ApiCalls()
add_instruments(
    lambda meter: meter.create_observable_counter(
        "dbp.bedrock.api.calls",
        [API_CALLS.observe],
        unit="{request}",
        description="Requests to the Bedrock control plane, retries included",
    )
)


class BedrockClients:
    """
    [Class intent]
    Hand out ``bedrock`` clients per region (and an STS client for the caller's
    identity), each built once and reused by every thread.

    [Design principles]
    Clients it builds have botocore's own retries turned off: retries are done by
    :class:`~.errors.RetryPolicy`, whose delays are known and testable. A client
    from ``client_factory`` is used exactly as given.

    [Implementation details]
    ``session`` and ``client_factory`` are mutually exclusive. Without either, a
    ``boto3.Session(profile_name=profile_name)`` is created on first use.
    """

    def __init__(
        self,
        session: Any = None,
        *,
        client_factory: ClientFactory | None = None,
        endpoint_url: str | None = None,
        sts_endpoint_url: str | None = None,
        profile_name: str | None = None,
        config: Any = None,
    ) -> None:
        """
        Args:
            session: a ``boto3.Session`` to build clients from.
            client_factory: ``factory(region) -> bedrock client``, instead of a session.
            endpoint_url: Bedrock endpoint for every region (default: AWS's).
            sts_endpoint_url: STS endpoint for ``GetCallerIdentity`` (default: AWS's).
            profile_name: AWS profile for the session built when none is given.
            config: a ``botocore.config.Config`` merged into the clients' config.
        """
        if session is not None and client_factory is not None:
            raise ValueError("pass either session or client_factory, not both")
        if session is not None and profile_name is not None:
            raise ValueError("profile_name only applies when no session is given")
        self._session = session
        self._factory = client_factory
        self.endpoint_url = endpoint_url
        self.sts_endpoint_url = sts_endpoint_url
        self.profile_name = profile_name
        self._config = config
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._sts: Any = None

    def __repr__(self) -> str:
        source = "factory" if self._factory is not None else "session"
        return f"BedrockClients({source}, endpoint_url={self.endpoint_url!r})"

    @property
    def uses_factory(self) -> bool:
        return self._factory is not None

    def session(self) -> Any:
        """The boto3 session (built on first use); ``None`` with a client factory."""
        if self._factory is not None:
            return None
        with self._lock:
            return self._session_locked()

    def _session_locked(self) -> Any:
        if self._session is None:
            import boto3

            self._session = boto3.Session(profile_name=self.profile_name)
        return self._session

    def _client_config(self) -> Any:
        from botocore.config import Config

        base = Config(retries={"total_max_attempts": 1}, user_agent_extra="dbp-discovery")
        return base.merge(self._config) if self._config is not None else base

    def client(self, region: str) -> Any:
        """The ``bedrock`` client for ``region`` (created once, then shared)."""
        found = self._clients.get(region)
        if found is not None:
            return found
        with self._lock:
            found = self._clients.get(region)
            if found is None:
                if self._factory is not None:
                    found = self._factory(region)
                else:
                    found = self._session_locked().client(
                        "bedrock",
                        region_name=region,
                        endpoint_url=self.endpoint_url,
                        config=self._client_config(),
                    )
                self._clients[region] = found
            return found

    def created_regions(self) -> list[str]:
        """Regions a client has been built for so far."""
        with self._lock:
            return sorted(self._clients)

    def available_regions(self) -> list[str]:
        """Regions where botocore knows a ``bedrock`` endpoint (no network call)."""
        session = self.session()
        if session is None:
            import boto3

            session = boto3.Session()
        regions: list[str] = session.get_available_regions("bedrock")
        return regions

    def credential_fingerprint(self) -> str | None:
        """A one-way fingerprint of the access key id (``None`` if unknown).

        Access keys belong to one account for life, so this is a safe cache key
        for "which account am I" without storing the key itself.
        """
        session = self.session()
        if session is None:
            return None
        credentials = session.get_credentials()
        if credentials is None:
            return None
        access_key = credentials.access_key
        digest = hashlib.sha256(f"{access_key}|{self.sts_endpoint_url}".encode()).hexdigest()
        return digest[:24]

    def caller_account(self, region: str) -> str:
        """The caller's AWS account id via STS ``GetCallerIdentity`` (one network call)."""
        session = self.session()
        if session is None:
            raise RuntimeError("the caller's account is unknown with a client factory")
        with self._lock:
            if self._sts is None:
                self._sts = session.client(
                    "sts",
                    region_name=region,
                    endpoint_url=self.sts_endpoint_url,
                    config=self._client_config(),
                )
            sts = self._sts
        account: str = sts.get_caller_identity()["Account"]
        return account
