"""The caller's AWS account id, looked up once per access key and cached.

[Intent]
Anything cached per account (application inference profiles, model access) needs
the account id in its key, and two classes must not each pay for STS.

[Implementation details]
STS ``GetCallerIdentity`` is asked once per access key; the answer is cached
under a one-way fingerprint of the key id (never the key) for 30 days: an
access key belongs to one account for life.
"""

from __future__ import annotations

import datetime as _dt
import logging
from typing import Any

from ..cache import LOGGER_NAME
from .base import DiscoveryBase
from .keys import ACCOUNT_KEY

__all__ = ["ACCOUNT_TTL", "AccountScoped", "lookup_account"]

logger = logging.getLogger(LOGGER_NAME)

#: An access key belongs to one account for life; remember the mapping long.
ACCOUNT_TTL = _dt.timedelta(days=30)


def lookup_account(discovery: DiscoveryBase, region: str, consequence: str) -> str | None:
    """The account behind ``discovery``'s credentials, or ``None`` when it cannot be known.

    ``None`` with a client factory (no credentials to fingerprint) or when STS
    fails; the failure is logged once with ``consequence`` ("... will not be cached").
    The STS request counts in ``discovery.api_calls``.
    """
    fingerprint = discovery.clients.credential_fingerprint()
    if fingerprint is None:
        return None
    key = ACCOUNT_KEY.format(fingerprint=fingerprint)
    account = discovery.cache.get(key) if discovery.use_cache else None
    if isinstance(account, str):
        return account
    try:
        discovery.api_calls += 1
        account = discovery.clients.caller_account(region)
    except Exception as exc:
        logger.warning("cannot tell the caller's AWS account (%s); %s", exc, consequence)
        return None
    if discovery.use_cache:
        ttl = ACCOUNT_TTL.total_seconds()
        discovery.cache.set(key, account, memory_ttl=ttl, disk_ttl=ttl, redis_ttl=ttl)
    return account


class AccountScoped(DiscoveryBase):
    """A discovery class whose data belongs to the caller's account.

    Takes the :class:`~.base.DiscoveryBase` options plus ``account_id`` (skips the
    STS call). ``ACCOUNT_CONSEQUENCE`` says what an unknown account means for it.
    """

    ACCOUNT_CONSEQUENCE = "nothing will be cached for the account"

    def __init__(
        self, session: Any = None, *, account_id: str | None = None, **options: Any
    ) -> None:
        super().__init__(session, **options)
        self._account_id = account_id
        self._account_known = account_id is not None

    def account_id(self, region: str = "us-east-1") -> str | None:
        """The caller's account id (given, or STS once, cached); ``None`` if unknowable."""
        if not self._account_known:
            self._account_id = lookup_account(self, region, self.ACCOUNT_CONSEQUENCE)
            self._account_known = True
        return self._account_id
