"""Check a JSON answer against botocore's service model for ``bedrock``.

[Intent]
The stand-in must answer as AWS does, or tests pass against a server boto3 would
never meet. botocore's parser is lenient (unknown members are dropped, wrong types
pass through), so parsing alone proves little: this checks the raw JSON.

[Design principles]
Structure is always checked: required members present, no member the model does
not know, JSON types, ISO-8601 timestamps. Enum and length rules are checked
except where real AWS is known to send more than botocore's model allows
(``KNOWN_EXCEEDED``); patterns are not checked (custom prompt routers' ARNs, for
one, do not match botocore's).
"""

from __future__ import annotations

import re
from typing import Any

#: Shapes whose enum or length rule real AWS is known to exceed.
KNOWN_EXCEEDED = {
    "InferenceType",  # INFERENCE_PROFILE (and more) in inferenceTypesSupported
    "ModelModality",  # VIDEO, SPEECH ...
    "BrandedName",  # model names longer than 20 characters
    "InferenceProfileModels",  # global profiles route to more than 5 regions
}
_ISO8601 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def service_model() -> Any:
    import botocore.session

    return botocore.session.get_session().get_service_model("bedrock")


def problems(shape: Any, value: Any, path: str = "$") -> list[str]:
    """Every way ``value`` breaks ``shape`` (empty when it conforms)."""
    kind = shape.type_name
    exempt = shape.name in KNOWN_EXCEEDED
    found: list[str] = []
    if kind == "structure":
        if not isinstance(value, dict):
            return [f"{path}: expected an object, got {type(value).__name__}"]
        body = {
            m.serialization.get("name", name): (name, m)
            for name, m in shape.members.items()
            if m.serialization.get("location") is None
        }
        for name in shape.required_members:
            wire = shape.members[name].serialization.get("name", name)
            if wire in body and wire not in value:
                found.append(f"{path}: required member {wire!r} missing")
        for key, item in value.items():
            if key not in body:
                found.append(f"{path}: unknown member {key!r}")
            else:
                found += problems(body[key][1], item, f"{path}.{key}")
        return found
    if kind == "list":
        if not isinstance(value, list):
            return [f"{path}: expected a list, got {type(value).__name__}"]
        found += _length(shape, len(value), path, exempt)
        for i, item in enumerate(value):
            found += problems(shape.member, item, f"{path}[{i}]")
        return found
    if kind == "map":
        if not isinstance(value, dict):
            return [f"{path}: expected a map, got {type(value).__name__}"]
        for key, item in value.items():
            found += problems(shape.value, item, f"{path}[{key!r}]")
        return found
    if kind == "string":
        if not isinstance(value, str):
            return [f"{path}: expected a string, got {type(value).__name__}"]
        if shape.enum and not exempt and value not in shape.enum:
            found.append(f"{path}: {value!r} is not one of {shape.enum} ({shape.name})")
        return found + _length(shape, len(value), path, exempt)
    if kind in ("integer", "long"):
        if not isinstance(value, int) or isinstance(value, bool):
            return [f"{path}: expected an integer, got {value!r}"]
        return _bounds(shape, value, path)
    if kind in ("double", "float"):
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            return [f"{path}: expected a number, got {value!r}"]
        return _bounds(shape, value, path)
    if kind == "boolean":
        return [] if isinstance(value, bool) else [f"{path}: expected a boolean, got {value!r}"]
    if kind == "timestamp":
        fmt = shape.serialization.get("timestampFormat", "iso8601")
        if fmt != "iso8601" or not isinstance(value, str) or not _ISO8601.match(value):
            return [f"{path}: {value!r} is not an ISO-8601 timestamp ({fmt})"]
        return []
    return [f"{path}: shape type {kind} not checked"]


def _length(shape: Any, length: int, path: str, exempt: bool) -> list[str]:
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if exempt or ((low is None or length >= low) and (high is None or length <= high)):
        return []
    return [f"{path}: length {length} outside [{low}, {high}] ({shape.name})"]


def _bounds(shape: Any, value: float, path: str) -> list[str]:
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if (low is None or value >= low) and (high is None or value <= high):
        return []
    return [f"{path}: {value} outside [{low}, {high}] ({shape.name})"]
