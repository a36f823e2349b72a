"""The Bedrock layer's cache keys, defined once.

Each is a ``str.format`` pattern (for ``DiscoveryCache.get_model_cache`` and
friends) and the matching ``@discovery_cached`` template, built from one text so
the two can never drift apart.
"""

from __future__ import annotations

__all__ = [
    "ACCESS_KEY",
    "ACCOUNT_KEY",
    "APPLICATION_PROFILE_KEY",
    "LATENCY_KEY",
    "MODEL_KEY",
    "PROFILE_KEY",
    "TARGET_DENIED_KEY",
    "TARGET_KEY",
    "UNAVAILABLE_KEY",
    "template",
]

#: ``ListFoundationModels`` of one region (the seed's key).
MODEL_KEY = "bedrock_models:{region}"
#: System-defined inference profiles of one region (the seed's key).
PROFILE_KEY = "bedrock_profiles:{region}"
#: Application inference profiles: they belong to one account.
APPLICATION_PROFILE_KEY = "bedrock_profiles:{region}:account:{account}"
#: One kind of other invocation target (provisioned throughput, custom models ...):
#: they belong to one account, like application profiles.
TARGET_KEY = "bedrock_targets:{region}:account:{account}:{kind}"
#: "This account may not list that kind here" (403 on its List call).
TARGET_DENIED_KEY = "bedrock_targets:{region}:account:{account}:{kind}:denied"
#: ``GetFoundationModelAvailability``: per account, region and model.
ACCESS_KEY = "bedrock_access:{region}:account:{account}:{model}"
#: "This region is not usable with these credentials", per credential fingerprint.
UNAVAILABLE_KEY = "bedrock_unavailable:{region}:{fingerprint}"
#: The account id behind a set of credentials.
ACCOUNT_KEY = "aws_account:{fingerprint}"
#: Per-region latency averages, shared by every discovery object and process.
LATENCY_KEY = "bedrock_latency:v1"


def template(pattern: str) -> str:
    """The decorator template of a ``str.format`` key: ``{region}`` becomes ``<region>``."""
    return pattern.replace("{", "<").replace("}", ">")
