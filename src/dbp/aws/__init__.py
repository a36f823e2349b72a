"""AWS glue for the fleet tier: IAM authentication to ElastiCache and MemoryDB.

Kept out of the engine (:mod:`dbp.cache` imports neither boto3 nor botocore): the
engine takes any redis-py ``CredentialProvider``; this package provides the one
that signs with botocore. Needs ``pip install 'dbp-discovery-cache[redis,bedrock]'``.
"""

from __future__ import annotations

from .elasticache_iam import ENV_REDIS_IAM, ElastiCacheIAM

__all__ = ["ENV_REDIS_IAM", "ElastiCacheIAM"]
