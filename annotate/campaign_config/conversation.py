"""Live (PRISM-style) conversations (top level), read by annotate/services/conversation.py."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from .base import Section

Attribute = Annotated[str, StringConstraints(min_length=1, max_length=40)]


class Conversation(Section):
    title = "Live conversations"
    read_by = "annotate/services/conversation.py"
    admin_keys = ("conversation_models", "conversation_min_turns", "conversation_max_turns")

    conversation_models: int = Field(
        4, ge=1, le=8, description="Models answering the opening prompt (K)."
    )
    conversation_min_turns: int = Field(
        2,
        ge=1,
        le=50,
        description="Rated turns (the opening counts) before the participant may finish.",
    )
    conversation_max_turns: int = Field(
        6, ge=1, le=50, description="Rated turns after which the participant must finish."
    )
    conversation_attributes: list[Attribute] = Field(
        default_factory=lambda: [
            "values",
            "creativity",
            "fluency",
            "factuality",
            "diversity",
            "safety",
            "helpfulness",
        ],
        min_length=1,
        max_length=20,
        description="Attributes rated 1-100 when the conversation closes.",
    )

    def problems(self) -> dict[str, str]:
        if self.conversation_max_turns < self.conversation_min_turns:
            return {"conversation_max_turns": "must be at least conversation_min_turns"}
        return {}
