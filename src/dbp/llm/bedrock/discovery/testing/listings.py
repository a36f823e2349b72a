"""The stand-in's paginated ``List*`` answers: filters, sorting and ``nextToken`` pages.

Every paginated operation takes ``maxResults`` (1-1000) and ``nextToken``; the
filters are each operation's own query parameters, applied as the service does.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .targets import LIST_KEYS
from .wire import Answer, error, json_answer

__all__ = ["list_page", "owner_of"]

Item = Mapping[str, Any]
#: ``(query parameter, summary field, how they compare)`` per operation.
_Rule = tuple[str, str, Callable[[Any, str], bool]]


def _equals(value: Any, wanted: str) -> bool:
    return str(value).lower() == wanted.lower() if isinstance(value, bool) else value == wanted


def _contains(value: Any, wanted: str) -> bool:
    return isinstance(value, str) and wanted in value


_FILTERS: dict[str, tuple[_Rule, ...]] = {
    "ListInferenceProfiles": (("type", "type", _equals),),
    "ListProvisionedModelThroughputs": (
        ("statusEquals", "status", _equals),
        ("modelArnEquals", "modelArn", _equals),
        ("nameContains", "provisionedModelName", _contains),
    ),
    "ListCustomModels": (
        ("nameContains", "modelName", _contains),
        ("baseModelArnEquals", "baseModelArn", _equals),
        ("foundationModelArnEquals", "baseModelArn", _equals),
        ("modelStatus", "modelStatus", _equals),
    ),
    "ListCustomModelDeployments": (
        ("nameContains", "customModelDeploymentName", _contains),
        ("statusEquals", "status", _equals),
        ("modelArnEquals", "modelArn", _equals),
    ),
    "ListImportedModels": (("nameContains", "modelName", _contains),),
    "ListPromptRouters": (("type", "type", _equals),),
    "ListMarketplaceModelEndpoints": (("modelSourceIdentifier", "modelSourceIdentifier", _equals),),
}
_CREATED_FIELDS = ("creationTime", "createdAt")


def owner_of(item: Item) -> str | None:
    """The account field of an item's ARN (the first ``...Arn`` field it has)."""
    for name, value in item.items():
        if name.endswith("Arn") and isinstance(value, str):
            parts = value.split(":", 5)
            return parts[4] or None if len(parts) == 6 else None
    return None


def _sort(items: Sequence[Item], query: Mapping[str, str]) -> list[Item]:
    if query.get("sortBy") != "CreationTime":
        return list(items)

    def created(item: Item) -> str:
        return next((str(item[f]) for f in _CREATED_FIELDS if f in item), "")

    return sorted(items, key=created, reverse=query.get("sortOrder") == "Descending")


def list_page(
    operation: str, items: Sequence[Item], query: Mapping[str, str], page_size_cap: int
) -> Answer:
    """One page of ``operation``'s answer: filtered, sorted, at most ``page_size_cap`` long."""
    for parameter, field, compare in _FILTERS.get(operation, ()):
        if parameter in query:
            items = [i for i in items if compare(i.get(field), query[parameter])]
    items = _sort(items, query)
    try:
        size = int(query.get("maxResults", "100"))
        start = int(base64.urlsafe_b64decode(query["nextToken"])) if "nextToken" in query else 0
    except ValueError:
        return error(400, "ValidationException", "Invalid maxResults or nextToken.")
    if not 1 <= size <= 1000:
        return error(400, "ValidationException", "maxResults must be between 1 and 1000.")
    end = start + min(size, page_size_cap)
    page: dict[str, Any] = {LIST_KEYS[operation]: list(items[start:end])}
    if end < len(items):
        page["nextToken"] = base64.urlsafe_b64encode(str(end).encode()).decode()
    return json_answer(page)
