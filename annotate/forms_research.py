"""The export form of the researcher page.

Field names are the query parameters of ``GET /api/v1/campaigns/<slug>/export`` (plus
``campaign``), so a researcher who later scripts the same export uses the names they
saw. The form only checks types and choices; :meth:`ExportForm.export_params` hands the
values to annotate.services.export_requests, which applies the API's own rules.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from django import forms
from django.http import QueryDict

from annotate.api.filters import PROFILE_FILTERS
from annotate.exports.schemas import SHAPES
from annotate.exports.shapes import RANKING_PAIRS, ShapeOptions
from annotate.exports.writers import FORMATS
from annotate.models import Campaign, TaskType

SHAPE_LABELS = {
    "raw": "raw: one row per annotation",
    "trl-preference": "trl-preference: prompt, chosen, rejected (DPO, reward models)",
    "trl-unpaired": "trl-unpaired: prompt, completion, label (KTO)",
    "ranking": "ranking: every response of a prompt, best first (best-worst labels too)",
    "prism": "prism: zip of survey, conversations, utterances",
}
FORMAT_LABELS = {"jsonl": "JSON Lines", "csv": "CSV", "parquet": "Parquet (zstd)"}
DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _label(name: str) -> str:
    text = name.replace("_", " ").capitalize()
    return "AI" + text[2:] if text.startswith("Ai ") else text


class ExportForm(forms.Form):
    campaign = forms.ChoiceField(label="Campaign")
    shape = forms.ChoiceField(choices=[(s, SHAPE_LABELS.get(s, s)) for s in SHAPES])
    format = forms.ChoiceField(choices=[(f, FORMAT_LABELS.get(f, f)) for f in FORMATS])
    conversational = forms.BooleanField(
        required=False, label="Conversational: prompts and answers as chat message lists"
    )
    ranking_pairs = forms.ChoiceField(
        required=False,
        choices=[(p, p) for p in RANKING_PAIRS],
        label="Ranking pairs",
        help_text="trl-preference: all implied pairs, neighbouring ranks, or best vs rest.",
    )
    min_margin = forms.FloatField(
        required=False,
        min_value=0,
        label="Minimum rating margin",
        help_text="trl-preference from ratings; default 1.",
    )
    attribute = forms.CharField(
        required=False,
        max_length=40,
        label="Rating attribute",
        help_text="Default: the campaign's overall attribute.",
    )
    threshold = forms.FloatField(
        required=False,
        label="Label threshold",
        help_text="trl-unpaired: above is good, below is bad; default mid-scale.",
    )
    sources = forms.MultipleChoiceField(
        required=False,
        choices=[(s, s) for s in ShapeOptions.sources],
        widget=forms.CheckboxSelectMultiple,
        label="Label types used for pairs",
        help_text="None ticked: all.",
    )
    task_type = forms.MultipleChoiceField(
        required=False,
        choices=TaskType.choices,
        widget=forms.CheckboxSelectMultiple,
        label="Task types",
        help_text="None ticked: all.",
    )
    created_after = forms.DateField(required=False, widget=DATE, label="Labelled from")
    created_before = forms.DateField(
        required=False, widget=DATE, label="Labelled until (inclusive)"
    )
    guideline_version = forms.IntegerField(required=False, min_value=1)
    endpoint = forms.IntegerField(required=False, min_value=1, label="Model endpoint id")
    policy_version = forms.IntegerField(required=False, min_value=1)
    annotator = forms.CharField(required=False, max_length=40, label="Annotator pseudonym")
    language = forms.CharField(
        required=False,
        max_length=400,
        label="Item languages",
        help_text="Comma-separated BCP 47 tags, e.g. fr,de. Empty: all.",
    )

    def __init__(self, *args: Any, campaigns: Iterable[Campaign] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        campaign = cast(forms.ChoiceField, self.fields["campaign"])
        campaign.choices = [(c.slug, f"{c.name} ({c.slug})") for c in campaigns]
        # "async" is a keyword: it cannot be a class attribute.
        self.fields["async"] = forms.BooleanField(
            required=False,
            label="Run in the background even if small",
            help_text="Large exports always do; they appear under Your exports.",
        )
        for name in PROFILE_FILTERS:
            self.fields[name] = forms.CharField(required=False, max_length=400, label=_label(name))

    def profile_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in PROFILE_FILTERS]

    def export_params(self) -> QueryDict:
        """The cleaned values as the API's query string (empty values left out)."""
        assert self.is_valid()
        params = QueryDict(mutable=True)
        for name, value in self.cleaned_data.items():
            if name == "campaign" or value in (None, "", [], False):
                continue
            if isinstance(value, list):
                params.setlist(name, [str(v) for v in value])
            elif value is True:
                params[name] = "1"
            elif hasattr(value, "isoformat"):
                params[name] = value.isoformat()
            else:
                params[name] = str(value)
        return params
