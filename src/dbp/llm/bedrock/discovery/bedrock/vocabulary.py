"""The values Bedrock's model filters accept, including those botocore's enums lag behind.

[Intent]
A filter value nothing can match (``output_modality="text"``, an inference type
misspelt) must be a clear error naming the accepted values, as AWS's own
``ValidationException`` would be, not an empty list. Real AWS returns values
botocore's enums do not know yet (``INFERENCE_PROFILE`` in
``inferenceTypesSupported``, ``VIDEO`` and ``SPEECH`` modalities): those are
accepted too. Plain data: the command line's parser reads it without boto3.
"""

from __future__ import annotations

from collections.abc import Collection

__all__ = [
    "CUSTOMIZATIONS",
    "INFERENCE_TYPES",
    "LIFECYCLES",
    "MODALITIES",
    "check_value",
]

#: botocore's ``ModelModality`` (TEXT, IMAGE, EMBEDDING) plus what live listings carry.
MODALITIES = ("TEXT", "IMAGE", "EMBEDDING", "VIDEO", "SPEECH", "AUDIO")
#: botocore's ``InferenceType`` plus INFERENCE_PROFILE (reachable only through a profile).
INFERENCE_TYPES = ("ON_DEMAND", "PROVISIONED", "INFERENCE_PROFILE")
#: botocore's ``ModelCustomization`` plus the newer customization types.
CUSTOMIZATIONS = (
    "FINE_TUNING",
    "CONTINUED_PRE_TRAINING",
    "DISTILLATION",
    "REINFORCEMENT_FINE_TUNING",
)
#: ``modelLifecycle.status``.
LIFECYCLES = ("ACTIVE", "LEGACY")


def check_value(option: str, value: object, accepted: Collection[str]) -> None:
    """Raise ``ValueError`` naming ``option`` and the accepted values unless ``value`` is one."""
    if value is not None and value not in accepted:
        raise ValueError(f"{option} must be one of {', '.join(accepted)}; not {value!r}")
