"""Consent, crowd-platform links, completion and screen-out (top level), read by
annotate/selectors/onboarding.py, annotate/views/onboarding.py and annotate/views/tasks.py."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints, field_validator

from .base import LanguageCode, Part, Section

PARAM_PATTERN = r"^[A-Za-z0-9_.\-]{1,64}$"


class ConsentText(Part):
    version: str = Field(
        "1", min_length=1, max_length=40, description="Shown and stored with each consent."
    )
    text: str = Field(
        "",
        max_length=100_000,
        description="The campaign's own consent text in its default language (replaces "
        "the site consent).",
    )
    texts: dict[LanguageCode, Annotated[str, StringConstraints(max_length=100_000)]] = Field(
        default_factory=dict,
        description='Translations: {"fr": "...", "ar": "..."}; a participant reads the one '
        "in their language, else text.",
    )

    def problems(self) -> dict[str, str]:
        if not self.text.strip() and not self.texts:
            return {"text": "give the consent text (or texts per language)"}
        return {}


class Participants(Section):
    title = "Participants, crowd links, completion and screen-out"
    read_by = "annotate/selectors/onboarding.py, annotate/views/tasks.py"
    admin_keys = (
        "listed",
        "max_tasks_per_annotator",
        "completion_code",
        "completion_url",
        "completion_redirect",
        "screen_out_code",
        "screen_out_url",
        "participant_param",
        "study_param",
        "join_study_key",
    )

    consent: ConsentText | None = Field(
        None, description="{version, text}: the campaign's own consent; unset: the site consent."
    )
    listed: bool = Field(
        True,
        description="Whether the home page lists the campaign (crowd studies reached only "
        "through their join link set it to false).",
    )
    max_tasks_per_annotator: int = Field(
        0,
        ge=0,
        le=1_000_000,
        description="After this many submitted tasks a participant is done (completion page). "
        "0: no limit.",
    )
    completion_code: str = Field(
        "", max_length=200, description="Shown when a participant finishes (crowd platforms)."
    )
    completion_url: str = Field(
        "",
        max_length=2000,
        description="Link back to the crowd platform shown at the end; {code} is replaced "
        "by the completion code. http(s) only.",
    )
    completion_redirect: bool = Field(
        False,
        description="Send a participant who finishes straight to completion_url (with "
        "its code) instead of showing the code and a link: what Prolific and most crowd "
        "platforms expect.",
    )
    screen_out_code: str = Field(
        "",
        max_length=200,
        description="The crowd platform's code for participants the screener turns away "
        "(eligibility or a full quota cell).",
    )
    screen_out_url: str = Field(
        "",
        max_length=2000,
        description="Where a participant the screener turns away is sent, before the rest "
        "of the profile; {code} is replaced by screen_out_code, e.g. "
        "https://app.prolific.com/submissions/complete?cc={code}. http(s) only. Unset: "
        "they read a message instead.",
    )
    participant_param: str = Field(
        "PROLIFIC_PID",
        pattern=PARAM_PATTERN,
        description="Query parameter of the join link carrying the participant id "
        "(MTurk: workerId).",
    )
    study_param: str = Field(
        "STUDY_ID",
        pattern=PARAM_PATTERN,
        description="Query parameter of the join link carrying the study id (MTurk: hitId).",
    )

    join_study_key: bool = Field(
        False,
        description="Also admit first-time participants whose link carries the campaign's "
        "study key instead of their own signature (for a platform that cannot sign each "
        "link); they are then given their own signed link, which returning needs.",
    )

    @field_validator("completion_url", "screen_out_url")
    @classmethod
    def _http(cls, value: str) -> str:
        if value and not value.startswith(("https://", "http://")):
            raise ValueError("must start with https:// or http://")
        return value

    def problems(self) -> dict[str, str]:
        out = {}
        if self.participant_param == self.study_param:
            out["study_param"] = "must differ from participant_param"
        if self.completion_redirect and not self.completion_url:
            out["completion_redirect"] = "needs completion_url"
        if self.consent is not None:
            out.update({f"consent.{k}": v for k, v in self.consent.problems().items()})
        return out
