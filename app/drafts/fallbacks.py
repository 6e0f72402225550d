"""Why the drafting model's answer was not used, as sentences for head office's screens.

``assistant.drafting.fallbacks.sentence_keys`` is the one mapping from a stored code
(``Draft.fallback_reason``) to catalogue keys; this module only says them in the reader's language.
"""
from __future__ import annotations

from app.i18n import negotiate_locale, t
from assistant.drafting.fallbacks import sentence_keys


def fallback_sentence(code: str) -> str:
    """A stored fallback code as a sentence (several guardrail checks: one clause each)."""
    separator = "; " if negotiate_locale() == "en" else "；"
    return separator.join(t(key, **params) for key, params in sentence_keys(code))


def fallback_rows(counts: dict[str, int]) -> list[dict[str, object]]:
    """``{code: count}`` as rows for a screen, most frequent first."""
    return [{"reason": code, "label": fallback_sentence(code), "count": n}
            for code, n in sorted(counts.items(), key=lambda item: (-item[1], item[0]))]
