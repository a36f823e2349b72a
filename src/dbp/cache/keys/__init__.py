"""Cache keys: argument text, callable names, templates, signatures (re-exports only)."""

from .check import check_key
from .diagnose import explain_unstable
from .names import bound_text, closure_text, derived_key_prefix, stable_name
from .signature import SignatureSource, signature_source
from .template import (
    KeyBuilder,
    Placeholder,
    compile_key,
    key_expression,
    key_parts,
    parse_template,
)
from .values import UnstableKeyError, placeholder_text, stable_text

__all__ = [
    "KeyBuilder",
    "Placeholder",
    "SignatureSource",
    "UnstableKeyError",
    "bound_text",
    "check_key",
    "closure_text",
    "compile_key",
    "derived_key_prefix",
    "explain_unstable",
    "key_expression",
    "key_parts",
    "parse_template",
    "placeholder_text",
    "signature_source",
    "stable_name",
    "stable_text",
]
