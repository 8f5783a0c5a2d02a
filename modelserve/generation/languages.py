"""Answering in the item's language: a system-prompt instruction per language (issue 17).

Small models answer in English whatever they are asked in unless told otherwise, so a
generation request for a prompt in language L adds L's instruction to the system prompt
(after the endpoint's or the diversity strategy's own, which it does not replace). The
table below holds the defaults for the UI languages; a campaign overrides or extends it
with ``language_system_prompts`` (annotate/campaign_config/languages.py), where "" turns
a language's instruction off. A tag without an entry falls back to its primary language
("fr-ca" -> "fr"); ``und`` (undetermined) and unknown languages get no instruction.
"""

from __future__ import annotations

from collections.abc import Mapping

DEFAULT_LANGUAGE_SYSTEM_PROMPTS: dict[str, str] = {
    "en": "Always answer in English.",
    "fr": "Réponds toujours en français.",
    "es": "Responde siempre en español.",
    "de": "Antworte immer auf Deutsch.",
    "ar": "أجب دائمًا باللغة العربية.",
    "zh-hans": "请始终用简体中文回答。",
}


def language_instruction(language: str, overrides: Mapping[str, str] | None = None) -> str:
    """The instruction for ``language`` (a stored, lower-case tag), or "" for none."""
    table = {**DEFAULT_LANGUAGE_SYSTEM_PROMPTS, **(overrides or {})}
    code = (language or "").lower()
    for candidate in (code, code.split("-")[0]):
        if candidate in table:
            return table[candidate].strip()
    return ""


def system_prompt_for_language(
    system_prompt: str, language: str, overrides: Mapping[str, str] | None = None
) -> str:
    """``system_prompt`` followed by the language's instruction (either may be empty)."""
    instruction = language_instruction(language, overrides)
    if not instruction:
        return system_prompt
    if not system_prompt.strip():
        return instruction
    return f"{system_prompt.rstrip()}\n\n{instruction}"
