"""Forms of the annotator pages, and turning a task form's POST into a payload.

Task payloads are validated by annotate.payloads (through annotation_submit); the
functions here only reshape form fields into the payload shape, so the same rules apply
to the browser and the API.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import UserCreationForm
from django.http import QueryDict
from django.utils.translation import gettext, gettext_lazy

from annotate.countries import country_choices
from annotate.i18n.languages import ui_language_choices
from annotate.input.checks import InputError, parse_int
from annotate.input.forms import TextField, WholeNumberField, json_field_from_post
from annotate.models import ProfileVersion, TaskType
from annotate.models.profile import STATED_PREFERENCES, USE_CASES
from annotate.payloads import PayloadError

SELF_DESCRIBE = "self_describe"
# The limit the page shows (textarea maxlength) is the limit the server keeps.
PROFILE_TEXT_MAX = 2000
_ = gettext_lazy
PREFERENCE_LABELS = {
    "values": _("The response reflects values and beliefs close to mine"),
    "creativity": _("The response is creative and original"),
    "fluency": _("The response is well written and easy to read"),
    "factuality": _("The response is factually accurate"),
    "diversity": _("The response presents several viewpoints"),
    "safety": _("The response is safe and avoids harm"),
    "personalisation": _("The response is tailored to me"),
    "helpfulness": _("The response is helpful"),
}


class SignupForm(UserCreationForm):
    class Meta(UserCreationForm.Meta):  # type: ignore[name-defined]
        model = get_user_model()
        fields = ("username",)


class ConsentForm(forms.Form):
    version = forms.CharField(widget=forms.HiddenInput, max_length=40)
    text_sha256 = forms.CharField(widget=forms.HiddenInput, max_length=64)
    # The language of the text shown: consent is recorded for that text.
    language = forms.CharField(widget=forms.HiddenInput, max_length=12, required=False)
    agree = forms.BooleanField(
        required=True,
        label=_("I have read the text above and agree to take part."),
        error_messages={"required": _("Tick the box to agree, or leave the study.")},
    )


class _Slider(forms.NumberInput):
    input_type = "range"


class ProfileForm(forms.ModelForm):
    """The PRISM-style survey. Saving goes through profile_version_create (a new version)."""

    # Country names in the page's language (CLDR, through Babel), sorted for that language.
    birth_country = forms.ChoiceField(choices=country_choices, label=_("Country of birth"))
    residence_country = forms.ChoiceField(choices=country_choices, label=_("Country you live in"))
    use_cases = forms.MultipleChoiceField(
        choices=USE_CASES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=_("What do you use AI assistants for? (choose all that apply)"),
    )
    # Not part of the versioned profile: a setting of the account (Annotator.ui_language).
    ui_language = forms.ChoiceField(
        choices=ui_language_choices,
        required=False,
        label=_("Language of this website"),
        help_text=_("“Same as my browser” follows your browser's language settings."),
    )

    class Meta:
        model = ProfileVersion
        fields = (
            "age_band",
            "gender",
            "gender_self_describe",
            "birth_country",
            "residence_country",
            "first_language",
            "english_proficiency",
            "education",
            "employment",
            "marital_status",
            "ethnicity",
            "ethnicity_self_describe",
            "religion",
            "religion_self_describe",
            "ai_familiarity",
            "ai_frequency",
            "use_cases",
            *(f"pref_{name}" for name in STATED_PREFERENCES),
            "self_description",
            "system_prompt",
        )
        labels = {
            "age_band": _("Age"),
            "gender": _("Gender"),
            "gender_self_describe": _("Your gender, in your words"),
            "first_language": _("First language"),
            "english_proficiency": _("How well do you speak English?"),
            "education": _("Highest level of education completed"),
            "employment": _("Employment status"),
            "marital_status": _("Marital status"),
            "ethnicity": _("Ethnicity"),
            "ethnicity_self_describe": _("Your ethnicity, in your words"),
            "religion": _("Religion"),
            "religion_self_describe": _("Your religion, in your words"),
            "ai_familiarity": _("How familiar are you with AI assistants (chatbots)?"),
            "ai_frequency": _("How often do you use them?"),
            "self_description": _(
                "In a few sentences, describe the values or principles that matter most to you"
            ),
            "system_prompt": _(
                "If you could instruct an AI assistant how to behave with you, what "
                "would you write? (a “system prompt”)"
            ),
        }
        widgets = {
            "ai_familiarity": forms.RadioSelect,
            "ai_frequency": forms.RadioSelect,
            "self_description": forms.Textarea(attrs={"rows": 3}),
            "system_prompt": forms.Textarea(attrs={"rows": 3}),
            "first_language": forms.TextInput(attrs={"autocomplete": "off"}),
            **{
                f"pref_{name}": _Slider(attrs={"min": 0, "max": 100, "step": 1})
                for name in STATED_PREFERENCES
            },
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("self_description", "system_prompt"):
            # The input boundary's text field, with the limit the textarea shows.
            old = self.fields[name]
            self.fields[name] = TextField(
                max_length=PROFILE_TEXT_MAX, label=old.label, widget=old.widget, required=True
            )
        for name in STATED_PREFERENCES:
            old = self.fields[f"pref_{name}"]
            self.fields[f"pref_{name}"] = WholeNumberField(
                min_value=0,
                max_value=100,
                widget=old.widget,
                required=old.required,
                label=PREFERENCE_LABELS[name],
            )
            if not self.is_bound and self.initial.get(f"pref_{name}") is None:
                self.initial[f"pref_{name}"] = 50
        for name in ("self_description", "system_prompt"):
            self.fields[name].required = True
        for name in ("ai_familiarity", "ai_frequency"):
            field = self.fields[name]
            # A radio list needs no "---------" placeholder option.
            field.choices = [c for c in field.choices if c[0] != ""]  # type: ignore[attr-defined]
        for field in self.fields.values():
            if field.required:
                field.widget.attrs.setdefault("aria-required", "true")

    @property
    def preference_fields(self) -> list[forms.BoundField]:
        return [self[f"pref_{name}"] for name in STATED_PREFERENCES]

    def clean_first_language(self) -> str:
        value = (self.cleaned_data.get("first_language") or "").strip()
        if not value:
            raise forms.ValidationError(
                gettext("Tell us your first language (or “Prefer not to say”).")
            )
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for field in ("gender", "ethnicity", "religion"):
            text_field = f"{field}_self_describe"
            text = (data.get(text_field) or "").strip()
            if data.get(field) == SELF_DESCRIBE:
                if not text:
                    self.add_error(
                        text_field, gettext("Please describe it, or choose another option.")
                    )
            else:
                data[text_field] = ""
        for name in ("self_description", "system_prompt"):
            if name in data and len((data[name] or "").strip()) < 3:
                self.add_error(name, gettext("Please write at least a few words."))
        if data.get("ai_frequency") == "never" and data.get("use_cases"):
            self.add_error("use_cases", gettext("You said you never use AI assistants."))
        return data

    def profile_fields(self) -> dict[str, Any]:
        """cleaned_data as keyword arguments for profile_version_create."""
        return {name: self.cleaned_data[name] for name in self.fields if name != "ui_language"}


class ScreenerForm(forms.Form):
    """The screening questions, asked before the rest of the profile: the profile fields a
    campaign's eligibility and quotas read, with the profile form's labels and choices
    (the answers then pre-fill the profile, where they are saved as usual)."""

    def __init__(self, *args: Any, fields: Sequence[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        profile = ProfileForm()
        for name in fields:
            if name in profile.fields:
                self.fields[name] = copy.deepcopy(profile.fields[name])

    def answers(self) -> dict[str, Any]:
        """cleaned_data as plain JSON values (kept in the session until the profile)."""
        return {
            name: list(value) if isinstance(value, list | tuple) else value
            for name, value in self.cleaned_data.items()
        }


class SkipForm(forms.Form):
    reason = TextField(max_length=500, required=False)


# --- task forms -> payloads -------------------------------------------------------------


def _int_or_none(value: str | None, field: str) -> int | None:
    if value is None or not str(value).strip():
        return None
    try:
        return parse_int(value, field=field)
    except InputError:
        return None


def task_payload_from_post(
    *,
    task_type: str,
    data: QueryDict,
    presented_order: Sequence[int],
    rating_attributes: Sequence[str],
) -> dict[str, Any]:
    """Reshape the fields of a task form into the payload annotate.payloads validates.

    Raises PayloadError for fields the form itself sends malformed (a hand-made POST).
    """
    if task_type == TaskType.PAIRWISE:
        choice = data.get("choice", "")
        payload: dict[str, Any] = {"choice": choice, "reason": data.get("reason", "")}
        raw = data.get("strength", "").strip()
        if raw:
            magnitude = _int_or_none(raw, "strength")
            if magnitude is None:
                raise PayloadError({"strength": gettext("Must be a whole number.")})
            # The form asks "how much better" (1..3); the stored strength is signed,
            # negative favouring A (annotate.payloads.validate_pairwise).
            payload["strength"] = (
                0 if choice == "tie" else (-magnitude if choice == "A" else magnitude)
            )
        return payload
    if task_type == TaskType.RANKING:
        ranks: dict[int, list[int]] = {}
        for rid in presented_order:
            value = _int_or_none(data.get(f"rank_{rid}"), "ranking")
            if value is None:
                raise PayloadError({"ranking": gettext("Give every response a rank.")})
            ranks.setdefault(value, []).append(rid)
        return {"ranking": [ranks[r] for r in sorted(ranks)]}
    if task_type == TaskType.BWS:
        return {"best": data.get("best", ""), "worst": data.get("worst", "")}
    if task_type == TaskType.RATING:
        return {
            "ratings": {
                str(rid): {a: data.get(f"rating_{rid}_{a}", "") for a in rating_attributes}
                for rid in presented_order
            }
        }
    if task_type == TaskType.EDIT:
        return {"response_id": data.get("response_id", ""), "edited_text": data.get("edited_text")}
    if task_type == TaskType.CRITIQUE:
        try:
            spans = json_field_from_post(data.get("spans") or "[]", field="spans")
        except InputError as exc:
            # The input boundary's reason (depth, NaN, digits) follows, untranslated.
            message = gettext("The highlighted spans could not be read.")
            raise PayloadError({"spans": f"{message} ({exc.message})"}) from None
        return {
            "critique": data.get("critique", ""),
            "suggestion": data.get("suggestion", ""),
            "spans": spans,
        }
    raise PayloadError({"task_type": gettext("This task is answered on its own page.")})
