# ruff: noqa: E501  (the model table reads best one model per line)
"""Deterministic, realistic ``ListFoundationModels`` payloads for the benchmarks.

``list_foundation_models_response(100)`` is shaped like what boto3's ``bedrock`` client
returns for a well-populated region (``{"modelSummaries": [...]}``, without the
``ResponseMetadata``): real model ids and names, every summary field of the API, tz-aware
``datetime`` lifecycle times for most models (boto3 parses timestamps to aware datetimes),
``INFERENCE_PROFILE`` for models reachable only through cross-region profiles, and
``endOfLifeTime``/``legacyTime``/``publicExtendedAccessTime`` for ``LEGACY`` ones.

The same call always builds an equal value (no randomness, no clock), so every library in a
run, and every run, caches the same data.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

__all__ = [
    "MODEL_COUNTS",
    "list_foundation_models_response",
    "list_inference_profiles_response",
    "model_summaries",
    "without_datetimes",
]

#: The payload sizes the benchmarks use: a full region and a filtered (byProvider) listing.
MODEL_COUNTS = (100, 5)

_REGION = "us-east-1"

# (modelId, modelName, providerName, input, output, streaming, customizations,
#  inference types, status). Lifecycle times are derived from the position.
_T, _I, _E, _V, _S = "TEXT", "IMAGE", "EMBEDDING", "VIDEO", "SPEECH"
_OD, _PT, _IP = "ON_DEMAND", "PROVISIONED", "INFERENCE_PROFILE"
_FT, _CP, _DI = "FINE_TUNING", "CONTINUED_PRE_TRAINING", "DISTILLATION"

# fmt: off
_BASE: tuple[tuple[str, str, str, list[str], list[str], bool, list[str], list[str], str], ...] = (
    ("amazon.titan-tg1-large", "Titan Text Large", "Amazon", [_T], [_T], True, [], [_OD], "ACTIVE"),
    (
        "amazon.titan-image-generator-v1",
        "Titan Image Generator G1",
        "Amazon",
        [_T, _I],
        [_I],
        False,
        [_FT],
        [_OD, _PT],
        "LEGACY",
    ),
    (
        "amazon.titan-image-generator-v2:0",
        "Titan Image Generator G1 v2",
        "Amazon",
        [_T, _I],
        [_I],
        False,
        [_FT],
        [_OD, _PT],
        "ACTIVE",
    ),
    ("amazon.nova-premier-v1:0", "Nova Premier", "Amazon", [_T, _I, _V], [_T], True, [], [_IP], "ACTIVE"),
    ("amazon.nova-pro-v1:0", "Nova Pro", "Amazon", [_T, _I, _V], [_T], True, [_FT, _DI], [_OD], "ACTIVE"),
    ("amazon.nova-lite-v1:0", "Nova Lite", "Amazon", [_T, _I, _V], [_T], True, [_FT, _DI], [_OD], "ACTIVE"),
    ("amazon.nova-micro-v1:0", "Nova Micro", "Amazon", [_T], [_T], True, [_FT, _DI], [_OD], "ACTIVE"),
    ("amazon.nova-canvas-v1:0", "Nova Canvas", "Amazon", [_T, _I], [_I], False, [], [_OD], "ACTIVE"),
    ("amazon.nova-reel-v1:0", "Nova Reel", "Amazon", [_T, _I], [_V], False, [], [_OD], "ACTIVE"),
    ("amazon.nova-reel-v1:1", "Nova Reel", "Amazon", [_T, _I], [_V], False, [], [_OD], "ACTIVE"),
    ("amazon.nova-sonic-v1:0", "Nova Sonic", "Amazon", [_S], [_S, _T], True, [], [_OD], "ACTIVE"),
    ("amazon.titan-embed-text-v1", "Titan Embeddings G1 - Text", "Amazon", [_T], [_E], False, [], [_OD], "ACTIVE"),
    ("amazon.titan-embed-text-v2:0", "Titan Text Embeddings V2", "Amazon", [_T], [_E], False, [], [_OD], "ACTIVE"),
    (
        "amazon.titan-embed-image-v1",
        "Titan Multimodal Embeddings G1",
        "Amazon",
        [_T, _I],
        [_E],
        False,
        [_FT],
        [_OD, _PT],
        "ACTIVE",
    ),
    ("amazon.titan-text-lite-v1", "Titan Text G1 - Lite", "Amazon", [_T], [_T], True, [_FT, _CP], [_OD], "ACTIVE"),
    ("amazon.titan-text-express-v1", "Titan Text G1 - Express", "Amazon", [_T], [_T], True, [_FT, _CP], [_OD], "ACTIVE"),
    ("amazon.titan-text-premier-v1:0", "Titan Text G1 - Premier", "Amazon", [_T], [_T], True, [], [_OD], "LEGACY"),
    ("amazon.rerank-v1:0", "Rerank 1.0", "Amazon", [_T], [_T], False, [], [_OD], "ACTIVE"),
    ("anthropic.claude-instant-v1", "Claude Instant", "Anthropic", [_T], [_T], True, [], [_OD], "LEGACY"),
    ("anthropic.claude-v2", "Claude", "Anthropic", [_T], [_T], True, [], [_OD], "LEGACY"),
    ("anthropic.claude-v2:1", "Claude", "Anthropic", [_T], [_T], True, [], [_OD], "LEGACY"),
    ("anthropic.claude-3-sonnet-20240229-v1:0", "Claude 3 Sonnet", "Anthropic", [_T, _I], [_T], True, [], [_OD], "LEGACY"),
    ("anthropic.claude-3-haiku-20240307-v1:0", "Claude 3 Haiku", "Anthropic", [_T, _I], [_T], True, [_FT, _DI], [_OD], "ACTIVE"),
    ("anthropic.claude-3-opus-20240229-v1:0", "Claude 3 Opus", "Anthropic", [_T, _I], [_T], True, [], [_IP], "LEGACY"),
    ("anthropic.claude-3-5-sonnet-20240620-v1:0", "Claude 3.5 Sonnet", "Anthropic", [_T, _I], [_T], True, [], [_OD, _IP], "LEGACY"),
    ("anthropic.claude-3-5-sonnet-20241022-v2:0", "Claude 3.5 Sonnet v2", "Anthropic", [_T, _I], [_T], True, [], [_OD, _IP], "ACTIVE"),
    ("anthropic.claude-3-5-haiku-20241022-v1:0", "Claude 3.5 Haiku", "Anthropic", [_T], [_T], True, [], [_OD, _IP], "ACTIVE"),
    ("anthropic.claude-3-7-sonnet-20250219-v1:0", "Claude 3.7 Sonnet", "Anthropic", [_T, _I], [_T], True, [], [_IP], "ACTIVE"),
    ("anthropic.claude-sonnet-4-20250514-v1:0", "Claude Sonnet 4", "Anthropic", [_T, _I], [_T], True, [], [_IP], "ACTIVE"),
    ("anthropic.claude-opus-4-20250514-v1:0", "Claude Opus 4", "Anthropic", [_T, _I], [_T], True, [], [_IP], "ACTIVE"),
    ("anthropic.claude-opus-4-1-20250805-v1:0", "Claude Opus 4.1", "Anthropic", [_T, _I], [_T], True, [], [_IP], "ACTIVE"),
    ("anthropic.claude-sonnet-4-5-20250929-v1:0", "Claude Sonnet 4.5", "Anthropic", [_T, _I], [_T], True, [], [_IP], "ACTIVE"),
    ("anthropic.claude-haiku-4-5-20251001-v1:0", "Claude Haiku 4.5", "Anthropic", [_T, _I], [_T], True, [], [_IP], "ACTIVE"),
    ("cohere.command-text-v14", "Command", "Cohere", [_T], [_T], True, [_FT], [_OD], "LEGACY"),
    ("cohere.command-light-text-v14", "Command Light", "Cohere", [_T], [_T], True, [_FT], [_OD], "LEGACY"),
    ("cohere.command-r-v1:0", "Command R", "Cohere", [_T], [_T], True, [], [_OD], "ACTIVE"),
    ("cohere.command-r-plus-v1:0", "Command R+", "Cohere", [_T], [_T], True, [], [_OD], "ACTIVE"),
    ("cohere.embed-english-v3", "Embed English", "Cohere", [_T], [_E], False, [], [_OD], "ACTIVE"),
    ("cohere.embed-multilingual-v3", "Embed Multilingual", "Cohere", [_T], [_E], False, [], [_OD], "ACTIVE"),
    ("cohere.embed-v4:0", "Embed v4", "Cohere", [_T, _I], [_E], False, [], [_OD, _IP], "ACTIVE"),
    ("cohere.rerank-v3-5:0", "Rerank 3.5", "Cohere", [_T], [_T], False, [], [_OD], "ACTIVE"),
    ("deepseek.r1-v1:0", "DeepSeek-R1", "DeepSeek", [_T], [_T], True, [], [_IP], "ACTIVE"),
    ("deepseek.v3-v1:0", "DeepSeek-V3.1", "DeepSeek", [_T], [_T], True, [], [_OD], "ACTIVE"),
    ("meta.llama3-8b-instruct-v1:0", "Llama 3 8B Instruct", "Meta", [_T], [_T], True, [], [_OD], "LEGACY"),
    ("meta.llama3-70b-instruct-v1:0", "Llama 3 70B Instruct", "Meta", [_T], [_T], True, [], [_OD], "LEGACY"),
    ("meta.llama3-1-8b-instruct-v1:0", "Llama 3.1 8B Instruct", "Meta", [_T], [_T], True, [_FT, _DI], [_IP], "ACTIVE"),
    ("meta.llama3-1-70b-instruct-v1:0", "Llama 3.1 70B Instruct", "Meta", [_T], [_T], True, [_FT, _DI], [_IP], "ACTIVE"),
    ("meta.llama3-1-405b-instruct-v1:0", "Llama 3.1 405B Instruct", "Meta", [_T], [_T], True, [], [_OD], "ACTIVE"),
    ("meta.llama3-2-1b-instruct-v1:0", "Llama 3.2 1B Instruct", "Meta", [_T], [_T], True, [_FT], [_IP], "ACTIVE"),
    ("meta.llama3-2-3b-instruct-v1:0", "Llama 3.2 3B Instruct", "Meta", [_T], [_T], True, [_FT], [_IP], "ACTIVE"),
    ("meta.llama3-2-11b-instruct-v1:0", "Llama 3.2 11B Instruct", "Meta", [_T, _I], [_T], True, [_FT], [_IP], "ACTIVE"),
    ("meta.llama3-2-90b-instruct-v1:0", "Llama 3.2 90B Instruct", "Meta", [_T, _I], [_T], True, [_FT], [_IP], "ACTIVE"),
    ("meta.llama3-3-70b-instruct-v1:0", "Llama 3.3 70B Instruct", "Meta", [_T], [_T], True, [], [_IP], "ACTIVE"),
    ("meta.llama4-scout-17b-instruct-v1:0", "Llama 4 Scout 17B Instruct", "Meta", [_T, _I], [_T], True, [], [_IP], "ACTIVE"),
    ("meta.llama4-maverick-17b-instruct-v1:0", "Llama 4 Maverick 17B Instruct", "Meta", [_T, _I], [_T], True, [], [_IP], "ACTIVE"),
    ("mistral.mistral-7b-instruct-v0:2", "Mistral 7B Instruct", "Mistral AI", [_T], [_T], True, [], [_OD], "ACTIVE"),
    ("mistral.mixtral-8x7b-instruct-v0:1", "Mixtral 8x7B Instruct", "Mistral AI", [_T], [_T], True, [], [_OD], "ACTIVE"),
    ("mistral.mistral-large-2402-v1:0", "Mistral Large (24.02)", "Mistral AI", [_T], [_T], True, [], [_OD], "ACTIVE"),
    ("mistral.mistral-small-2402-v1:0", "Mistral Small (24.02)", "Mistral AI", [_T], [_T], True, [], [_OD], "ACTIVE"),
    ("mistral.pixtral-large-2502-v1:0", "Pixtral Large (25.02)", "Mistral AI", [_T, _I], [_T], True, [], [_IP], "ACTIVE"),
    ("ai21.jamba-instruct-v1:0", "Jamba-Instruct", "AI21 Labs", [_T], [_T], True, [], [_OD], "LEGACY"),
    ("ai21.jamba-1-5-large-v1:0", "Jamba 1.5 Large", "AI21 Labs", [_T], [_T], True, [], [_OD], "ACTIVE"),
    ("ai21.jamba-1-5-mini-v1:0", "Jamba 1.5 Mini", "AI21 Labs", [_T], [_T], True, [], [_OD], "ACTIVE"),
    ("stability.stable-diffusion-xl-v1", "SDXL 1.0", "Stability AI", [_T, _I], [_I], False, [], [_OD, _PT], "LEGACY"),
    ("stability.sd3-5-large-v1:0", "Stable Diffusion 3.5 Large", "Stability AI", [_T, _I], [_I], False, [], [_OD], "ACTIVE"),
    ("stability.stable-image-core-v1:1", "Stable Image Core 1.0", "Stability AI", [_T], [_I], False, [], [_OD], "ACTIVE"),
    ("stability.stable-image-ultra-v1:1", "Stable Image Ultra 1.0", "Stability AI", [_T], [_I], False, [], [_OD], "ACTIVE"),
    ("writer.palmyra-x4-v1:0", "Palmyra X4", "Writer", [_T], [_T], True, [], [_IP], "ACTIVE"),
    ("writer.palmyra-x5-v1:0", "Palmyra X5", "Writer", [_T], [_T], True, [], [_IP], "ACTIVE"),
    ("luma.ray-v2:0", "Ray v2", "Luma AI", [_T], [_V], False, [], [_OD], "ACTIVE"),
    ("twelvelabs.marengo-embed-2-7-v1:0", "Marengo Embed v2.7", "TwelveLabs", [_T, _I, _V], [_E], False, [], [_OD], "ACTIVE"),
    ("twelvelabs.pegasus-1-2-v1:0", "Pegasus v1.2", "TwelveLabs", [_T, _V], [_T], True, [], [_IP], "ACTIVE"),
    ("openai.gpt-oss-120b-1:0", "gpt-oss-120b", "OpenAI", [_T], [_T], True, [], [_OD], "ACTIVE"),
    ("openai.gpt-oss-20b-1:0", "gpt-oss-20b", "OpenAI", [_T], [_T], True, [], [_OD], "ACTIVE"),
    ("qwen.qwen3-32b-v1:0", "Qwen3 32B (dense)", "Qwen", [_T], [_T], True, [], [_OD], "ACTIVE"),
    ("qwen.qwen3-coder-30b-a3b-v1:0", "Qwen3 Coder 30B A3B Instruct", "Qwen", [_T], [_T], True, [], [_OD], "ACTIVE"),
)
# fmt: on

# Provisioned-throughput variants that real listings carry next to the base model: the
# model id gains a context-window suffix and the variant is PROVISIONED only.
_VARIANT_SUFFIXES = (
    ":0:8k",
    ":0:28k",
    ":0:200k",
    ":0:18k",
    ":0:51k",
    ":0:128k",
    ":0:4k",
    ":0:1000k",
)


def _time(index: int, days: int) -> datetime:
    """A deterministic, tz-aware UTC time (as boto3 returns) spread over the last years."""
    base = datetime(2023, 9, 28, 17, 0, 0, tzinfo=timezone.utc)
    return base + timedelta(days=days + 7 * index, hours=index % 24, minutes=(7 * index) % 60)


def _summary(index: int, spec: tuple[Any, ...], variant: str | None) -> dict[str, Any]:
    model_id, name, provider, inputs, outputs, streaming, customs, inference, status = spec
    if variant is not None:
        model_id = model_id.split(":")[0] + variant if ":" in model_id else model_id + variant
        inference = [_PT]
        name = f"{name} ({variant.rsplit(':', 1)[-1].upper()} context)"
    summary: dict[str, Any] = {
        "modelArn": f"arn:aws:bedrock:{_REGION}::foundation-model/{model_id}",
        "modelId": model_id,
        "modelName": name,
        "providerName": provider,
        "inputModalities": list(inputs),
        "outputModalities": list(outputs),
        "responseStreamingSupported": streaming,
        "customizationsSupported": list(customs),
        "inferenceTypesSupported": list(inference),
    }
    lifecycle: dict[str, Any] = {"status": status}
    if index % 10 != 7:  # most, not all, summaries carry a start time
        lifecycle["startOfLifeTime"] = _time(index, 0)
    if status == "LEGACY":
        lifecycle["legacyTime"] = _time(index, 400)
        lifecycle["publicExtendedAccessTime"] = _time(index, 490)
        lifecycle["endOfLifeTime"] = _time(index, 580)
    summary["modelLifecycle"] = lifecycle
    return summary


def model_summaries(count: int = 100) -> list[dict[str, Any]]:
    """``count`` model summaries: the base catalogue, then provisioned context variants."""
    if count < 0:
        raise ValueError("count must be >= 0")
    specs: list[tuple[tuple[Any, ...], str | None]] = [(spec, None) for spec in _BASE]
    text_models = [spec for spec in _BASE if _T in spec[4] and spec[5]]
    round_ = 0
    while len(specs) < count:
        for spec in text_models:
            specs.append((spec, _VARIANT_SUFFIXES[(round_ + len(specs)) % len(_VARIANT_SUFFIXES)]))
            if len(specs) >= count:
                break
        round_ += 1
    if count <= 5:
        # A small listing is a filtered one (byProvider=Anthropic), as users really request:
        # the Claude 3 family on, ACTIVE and LEGACY, on-demand and profile-only models.
        first = next(
            i for i, spec in enumerate(_BASE) if spec[0].startswith("anthropic.claude-3-h")
        )
        specs = [(spec, None) for spec in _BASE[first:] if spec[2] == "Anthropic"]
    return [_summary(i, spec, variant) for i, (spec, variant) in enumerate(specs[:count])]


def list_foundation_models_response(count: int = 100) -> dict[str, Any]:
    """What ``bedrock.list_foundation_models()`` returns (minus ResponseMetadata)."""
    return {"modelSummaries": model_summaries(count)}


_GEOGRAPHIES = ("us", "global")
_ACCOUNT = "111122223333"


def list_inference_profiles_response(count: int = 100) -> dict[str, Any]:
    """What ``bedrock.list_inference_profiles()`` returns for the models of ``count``.

    One system-defined profile per geography (``us.``, and ``global.`` for Anthropic and
    Amazon models) for every model reachable through profiles. ``createdAt`` is when the
    profile launched (per model: the geographies of one model launch together) and
    ``updatedAt`` equals it except for every fourth profile, updated later: profiles are
    rarely changed after launch. Both are tz-aware datetimes, as boto3 returns them.
    """
    profiles: list[dict[str, Any]] = []
    models = [m for m in model_summaries(count) if _IP in m["inferenceTypesSupported"]]
    for index, model in enumerate(models):
        model_id = model["modelId"]
        launched = _time(index, 30)
        geographies = _GEOGRAPHIES if model["providerName"] in ("Anthropic", "Amazon") else ("us",)
        for geo in geographies:
            regions = ("us-east-1", "us-east-2", "us-west-2") if geo == "us" else ("us-east-1",)
            profile_id = f"{geo}.{model_id}"
            updated = _time(index, 200) if len(profiles) % 4 == 3 else launched
            profiles.append(
                {
                    "inferenceProfileName": f"{geo.upper()} {model['modelName']}",
                    "description": f"Routes requests to {model['modelName']} in {geo} regions.",
                    "createdAt": launched,
                    "updatedAt": updated,
                    "inferenceProfileArn": (
                        f"arn:aws:bedrock:{_REGION}:{_ACCOUNT}:inference-profile/{profile_id}"
                    ),
                    "models": [
                        {"modelArn": f"arn:aws:bedrock:{r}::foundation-model/{model_id}"}
                        for r in regions
                    ],
                    "inferenceProfileId": profile_id,
                    "status": "ACTIVE",
                    "type": "SYSTEM_DEFINED",
                }
            )
    return {"inferenceProfileSummaries": profiles}


def without_datetimes(value: Any) -> Any:
    """``value`` with every datetime as its ISO text: the same data, nothing to restore."""
    if isinstance(value, dict):
        return {k: without_datetimes(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_datetimes(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value
