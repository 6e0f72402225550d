"""Why a model's draft was not used: the codes ``write_draft`` records on a draft.

A code is stored (``Draft.fallback_reason``) and counted by head office's draft statistics; people
read it as a sentence from the translation catalogue (``app/translations/*/drafts.json``, keys
``drafts.fallback.<key>``), never as the code. ``sentence_keys`` is the one mapping from a stored
code to those keys; a test checks every code below has a sentence in every locale.
"""
from __future__ import annotations

from collections.abc import Iterable

from assistant import guardrails

# The model gave no usable answer (``ModelUnavailable.reason``); "http_<status>" carries the status.
MODEL_FAILURES = ("timeout", "rate_limited", "server_error", "unreachable", "invalid_response", "invalid_json")
HTTP_PREFIX = "http_"
# The answer broke guardrails twice: "guardrail:price,unknown_product".
GUARDRAIL_PREFIX = "guardrail:"


def guardrail_code(violations: Iterable[guardrails.Violation]) -> str:
    return GUARDRAIL_PREFIX + ",".join(sorted({v.code for v in violations}))


def sentence_keys(code: str) -> list[tuple[str, dict[str, str]]]:
    """The catalogue keys (and their parameters) that say ``code`` in words, in order."""
    if code.startswith(GUARDRAIL_PREFIX):
        parts = [p for p in code[len(GUARDRAIL_PREFIX):].split(",") if p]
        return [(f"drafts.fallback.guardrail.{p}" if p in guardrails.VIOLATION_CODES
                 else "drafts.fallback.guardrail.other", {}) for p in parts] or [("drafts.fallback.guardrail.other", {})]
    if code.startswith(HTTP_PREFIX) and code[len(HTTP_PREFIX):].isdigit():
        return [("drafts.fallback.http", {"status": code[len(HTTP_PREFIX):]})]
    if code in MODEL_FAILURES:
        return [(f"drafts.fallback.{code}", {})]
    return [("drafts.fallback.other", {})]


def all_sentence_keys() -> list[str]:
    """Every key ``sentence_keys`` can answer with."""
    return ([f"drafts.fallback.{c}" for c in MODEL_FAILURES] + ["drafts.fallback.http", "drafts.fallback.other",
                                                                "drafts.fallback.guardrail.other"]
            + [f"drafts.fallback.guardrail.{c}" for c in guardrails.VIOLATION_CODES])
