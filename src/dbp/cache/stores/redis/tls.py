"""TLS for the fleet tier: certificates checked by default, a failed check named.

[Intent]
ElastiCache, MemoryDB and most managed Valkey/Redis services speak TLS only
(``rediss://``). The server's certificate and host name are always checked unless
the URL says ``ssl_cert_reqs=none``; a CA bundle, client certificate and key are
options (``ssl_ca_certs``, ``ssl_certfile``, ``ssl_keyfile``) or the URL's query
parameters of the same names (which win, as in redis-py).

[Design principles]
- Files are checked when the cache is built: a missing CA bundle is a clear error
  at construction, not a warning on every call.
- A certificate that does not verify is a fault like any other (the tier is
  skipped, calls succeed from the local tiers), with one warning that says so and
  names the CA it was checked against.
"""

from __future__ import annotations

import os
import ssl
import urllib.parse
from dataclasses import dataclass
from typing import Any

from redis.exceptions import ConnectionError as RedisConnectionError

__all__ = ["CertificateNotVerified", "TLSOptions", "explain"]

_TLS_SCHEMES = ("rediss://",)
_SYSTEM_CAS = "the system's default CA certificates"


class CertificateNotVerified(RedisConnectionError):
    """The Redis server's TLS certificate (or host name) did not verify."""


def _file(option: str, value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"{option} must be a path (str or os.PathLike), not {value!r}")
    path = os.fspath(value)
    if not os.path.isfile(path):
        raise ValueError(f"{option} {path!r} is not a readable file")
    return str(path)


@dataclass(frozen=True)
class TLSOptions:
    """The TLS settings of one ``rediss://`` URL."""

    ca_certs: str | None = None
    certfile: str | None = None
    keyfile: str | None = None
    url_ca: str | None = None  # ssl_ca_certs / ssl_ca_path given in the URL's query
    unchecked: bool = False  # the URL says ssl_cert_reqs=none: no certificate, no host name

    @classmethod
    def build(
        cls, url: str, *, ca_certs: object = None, certfile: object = None, keyfile: object = None
    ) -> TLSOptions | None:
        """The options for ``url`` (redis-py form), ``None`` for a plain-text URL.

        Raises ``ValueError`` naming the option for a missing file, a key without
        its certificate, or TLS files given with a plain-text URL.
        """
        files = {
            "redis_ssl_ca_certs": _file("redis_ssl_ca_certs", ca_certs),
            "redis_ssl_certfile": _file("redis_ssl_certfile", certfile),
            "redis_ssl_keyfile": _file("redis_ssl_keyfile", keyfile),
        }
        if not url.lower().startswith(_TLS_SCHEMES):
            given = [name for name, path in files.items() if path is not None]
            if given:
                raise ValueError(
                    f"{', '.join(given)} needs a TLS URL (rediss:// or rediss+cluster://)"
                )
            return None
        if files["redis_ssl_keyfile"] and not files["redis_ssl_certfile"]:
            raise ValueError("redis_ssl_keyfile needs redis_ssl_certfile (the client certificate)")
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
        url_ca = query.get("ssl_ca_certs") or query.get("ssl_ca_path")
        return cls(
            files["redis_ssl_ca_certs"],
            files["redis_ssl_certfile"],
            files["redis_ssl_keyfile"],
            url_ca,
            query.get("ssl_cert_reqs", "").lower() in ("none", "cert_none"),
        )

    def kwargs(self) -> dict[str, Any]:
        """redis-py keyword arguments: host names checked, the files given."""
        # (redis-py 5.x refuses a host name check without a certificate check)
        found: dict[str, Any] = {"ssl_check_hostname": not self.unchecked}
        for name, value in (
            ("ssl_ca_certs", self.ca_certs),
            ("ssl_certfile", self.certfile),
            ("ssl_keyfile", self.keyfile),
        ):
            if value is not None:
                found[name] = value
        return found

    def authority(self) -> str:
        """The CA the server's certificate is checked against, for messages."""
        ca = self.url_ca or self.ca_certs
        return f"the CA in {ca!r}" if ca else _SYSTEM_CAS


def _is_certificate_failure(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    for _ in range(5):  # redis-py wraps the ssl error once or twice
        if seen is None:
            return False
        if isinstance(seen, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(
            seen
        ):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def explain(exc: BaseException, tls: TLSOptions | None) -> BaseException:
    """``exc``, or for a failed certificate check an error that says so and names the CA."""
    if tls is None or not _is_certificate_failure(exc):
        return exc
    explained = CertificateNotVerified(
        f"the server's TLS certificate did not verify against {tls.authority()} ({exc})"
    )
    explained.__cause__ = exc
    return explained
