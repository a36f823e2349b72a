"""IAM authentication for ElastiCache and MemoryDB: a redis-py ``CredentialProvider``.

[Intent]
With IAM auth the password is a short-lived token: a SigV4-presigned
``GET http://<cache name>/?Action=connect&User=<user id>`` (plus
``&ResourceType=ServerlessCache`` for a serverless cache) for service
``elasticache`` (or ``memorydb``), valid 900 s, without its scheme; the user name
is the user id. Pass it as ``redis_credential_provider=ElastiCacheIAM(...)``.

[Design principles]
- redis-py asks the provider for credentials whenever it opens a connection; a
  token is reused for at most 10 minutes (so it is never within 5 minutes of
  expiring when sent), then a fresh one is signed. A connection the server drops
  (after 12 hours, or on a fail-over) reconnects with a fresh token.
- Signing uses botocore's SigV4 with the caller's credentials (the default chain,
  or a given boto3/botocore session), at the time of an injectable clock.
- No credentials (or a signing failure) is a fault of the Redis tier, not of the
  call: redis-py's ``AuthenticationError``, so the cache computes locally.
"""

from __future__ import annotations

import asyncio
import datetime
import re
import threading
import time
from collections.abc import Callable
from typing import Any

from redis.credentials import CredentialProvider
from redis.exceptions import AuthenticationError

__all__ = ["ENV_REDIS_IAM", "ElastiCacheIAM"]

#: The CLI's ``--redis-iam`` and the default cache read this variable (same syntax).
ENV_REDIS_IAM = "DBP_REDIS_IAM"

_SERVICES = ("elasticache", "memorydb")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
_SPEC_KEYS = ("user_id", "cache_name", "region", "serverless", "service")
_TRUE, _FALSE = ("true", "yes", "1"), ("false", "no", "0")


def _text(name: str, value: object) -> str:
    if not isinstance(value, str) or not value or value != value.strip():
        raise ValueError(f"ElastiCacheIAM {name} must be a non-empty str, not {value!r}")
    return value


class ElastiCacheIAM(CredentialProvider):
    """User id and a fresh IAM auth token for an ElastiCache or MemoryDB cache.

    ``user_id``: the ElastiCache/MemoryDB user (its user name must equal its id);
    ``cache_name``: the replication group, serverless cache or MemoryDB cluster
    name; ``region``: its region (default: the session's); ``serverless``: a
    serverless cache; ``service``: ``"elasticache"`` or ``"memorydb"``;
    ``session``: a boto3 or botocore session (default: botocore's default chain);
    ``clock``: seconds since the epoch (inject a fixed one in tests).
    """

    #: How long a token is valid (``X-Amz-Expires``).
    TOKEN_SECONDS = 900
    #: How long one token is handed out before a new one is signed.
    REUSE_SECONDS = 600.0

    def __init__(
        self,
        user_id: str,
        cache_name: str,
        region: str | None = None,
        *,
        serverless: bool = False,
        service: str = "elasticache",
        session: Any = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.user_id = _text("user_id", user_id)
        self.cache_name = _text("cache_name", cache_name)
        if service not in _SERVICES:
            raise ValueError(f"ElastiCacheIAM service must be one of {_SERVICES}, not {service!r}")
        if not isinstance(serverless, bool):
            raise TypeError(f"ElastiCacheIAM serverless must be a bool, not {serverless!r}")
        if serverless and service == "memorydb":
            raise ValueError("ElastiCacheIAM serverless=True is for ElastiCache, not MemoryDB")
        if session is None:
            import botocore.session

            session = botocore.session.get_session()
        if region is None:
            region = session.region_name if hasattr(session, "region_name") else None
            region = region or session.get_config_variable("region")
            if not region:
                raise ValueError(
                    "ElastiCacheIAM region not given and no default region configured "
                    "(pass region=..., or set AWS_REGION)"
                )
        if not isinstance(region, str) or not _REGION.match(region):
            raise ValueError(f"ElastiCacheIAM region must look like 'us-east-1', not {region!r}")
        self.region, self.serverless, self.service = region, serverless, service
        self._session, self._clock = session, clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._issued = 0.0

    @classmethod
    def from_spec(cls, spec: str) -> ElastiCacheIAM:
        """Parse ``user_id=app,cache_name=my-cache,region=us-east-1,serverless=true``.

        The keys are the constructor's (``service=memorydb`` too); the syntax of the
        CLI's ``--redis-iam`` and of ``$DBP_REDIS_IAM``.
        """
        fields: dict[str, str] = {}
        for part in spec.split(","):
            name, sep, value = part.partition("=")
            name = name.strip()
            if not sep or name not in _SPEC_KEYS or name in fields:
                raise ValueError(
                    f"bad IAM spec {spec!r}: {part.strip()!r} is not one of "
                    f"{', '.join(k + '=...' for k in _SPEC_KEYS)} (each at most once)"
                )
            fields[name] = value.strip()
        missing = [k for k in ("user_id", "cache_name") if k not in fields]
        if missing:
            raise ValueError(f"bad IAM spec {spec!r}: {' and '.join(missing)} missing")
        flag = fields.pop("serverless", "false").lower()
        if flag not in _TRUE + _FALSE:
            raise ValueError(f"bad IAM spec {spec!r}: serverless must be true or false")
        return cls(
            fields["user_id"],
            fields["cache_name"],
            fields.get("region"),
            serverless=flag in _TRUE,
            service=fields.get("service", "elasticache"),
        )

    def __repr__(self) -> str:
        kind = "serverless " if self.serverless else ""
        return (
            f"ElastiCacheIAM(user_id={self.user_id!r}, {kind}{self.service} "
            f"{self.cache_name!r} in {self.region})"
        )

    # -- redis-py's CredentialProvider ---------------------------------------------
    def get_credentials(self) -> tuple[str, str]:
        """``(user id, token)``: the current token, or a new one after 10 minutes."""
        with self._lock:
            now = self._clock()
            if self._token is None or not 0 <= now - self._issued < self.REUSE_SECONDS:
                self._token, self._issued = self.token_at(now), now
            return self.user_id, self._token

    async def get_credentials_async(self) -> tuple[str, str]:
        """As :meth:`get_credentials`; signing may resolve credentials, so off the loop."""
        return await asyncio.to_thread(self.get_credentials)

    def token_at(self, now: float) -> str:
        """The auth token signed at ``now`` (seconds since the epoch)."""
        from botocore.awsrequest import AWSRequest

        query = {"Action": "connect", "User": self.user_id}
        if self.serverless:
            query["ResourceType"] = "ServerlessCache"
        request = AWSRequest(method="GET", url=f"http://{self.cache_name.lower()}/", params=query)
        try:  # any failure here (botocore raises more than BotoCoreError) is the tier's
            credentials = self._session.get_credentials()
            if credentials is None:
                raise AuthenticationError(
                    f"no AWS credentials found to sign the IAM auth token for {self!r}"
                )
            signer = _presigner(
                credentials.get_frozen_credentials(), self.service, self.region, now
            )
            signer.add_auth(request)
        except AuthenticationError:
            raise
        except Exception as exc:
            raise AuthenticationError(
                f"cannot sign the IAM auth token for {self!r}: {exc}"
            ) from exc
        return str(request.url).removeprefix("http://")


def _presigner(credentials: Any, service: str, region: str, now: float) -> Any:
    """botocore's SigV4 query signer, at ``now`` instead of botocore's own clock."""
    from botocore.auth import SIGV4_TIMESTAMP, SigV4QueryAuth

    stamp = datetime.datetime.fromtimestamp(now, datetime.timezone.utc).strftime(SIGV4_TIMESTAMP)

    class AtTime(SigV4QueryAuth):
        def add_auth(self, request: Any) -> None:
            # botocore's SigV4Auth.add_auth, with the timestamp from our clock
            request.context["timestamp"] = stamp
            self._modify_request_before_signing(request)  # type: ignore[attr-defined]
            canonical_request = self.canonical_request(request)
            string_to_sign = self.string_to_sign(request, canonical_request)
            signature = self.signature(string_to_sign, request)
            self._inject_signature_to_request(request, signature)  # type: ignore[attr-defined]

    return AtTime(credentials, service, region, expires=ElastiCacheIAM.TOKEN_SECONDS)
