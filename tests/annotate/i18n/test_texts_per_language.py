"""Guidelines and consent texts per language: the page shows the active language's text
(else the campaign's default), and the label or consent records what was shown."""

from __future__ import annotations

import hashlib

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.urls import reverse
from rest_framework.test import APIClient

from annotate.models import Annotation, Assignment, Consent, GuidelineVersion, TaskType
from annotate.selectors.onboarding import consent_document, consent_has_given
from annotate.services import campaign_create, guideline_publish
from annotate.services.onboarding import ConsentOutdated, consent_give
from tests.annotate.ui_helpers import client_for, onboarded_annotator
from tests.factories import AnnotatorFactory, ItemFactory, UserFactory

pytestmark = pytest.mark.django_db
COOKIE = settings.LANGUAGE_COOKIE_NAME


def _campaign(**config):
    campaign = campaign_create(
        slug="multi", name="Multi", status="open", task_mix={"pairwise": 1}, config=config
    )
    ItemFactory(campaign=campaign, task_type=TaskType.PAIRWISE)
    return campaign


def _client(annotator, language):
    client = client_for(annotator)
    client.cookies[COOKIE] = language
    return client


def test_a_version_is_published_in_several_languages_at_once():
    campaign = _campaign()
    guideline_publish(campaign=campaign, text="Be fair.", texts={"fr": "Soyez juste."})
    row = guideline_publish(campaign=campaign, texts={"en": "Be kind.", "ar": "كن لطيفًا."})
    assert (row.version, row.language) == (2, "en")
    rows = set(GuidelineVersion.objects.values_list("version", "language"))
    assert rows == {(1, "en"), (1, "fr"), (2, "en"), (2, "ar")}


def test_publishing_refuses_unknown_languages_and_a_missing_default_text():
    campaign = _campaign()
    with pytest.raises(ValidationError, match="not one of the site's languages"):
        guideline_publish(campaign=campaign, text="x", texts={"tlh": "Qapla'"})
    with pytest.raises(ValidationError, match="default language \\(en\\) is missing"):
        guideline_publish(campaign=campaign, texts={"fr": "Seulement en français."})
    assert not GuidelineVersion.objects.exists()  # nothing half-written


def test_the_task_page_shows_the_newest_version_in_the_active_language_and_the_label_records_it():
    campaign = _campaign()
    guideline_publish(campaign=campaign, text="Old.", texts={"fr": "Ancien."})
    guideline_publish(campaign=campaign, text="Be fair.", texts={"fr": "Soyez juste."})
    french = GuidelineVersion.objects.get(version=2, language="fr")
    annotator = onboarded_annotator()
    client = _client(annotator, "fr")
    page = client.get(reverse("campaign_work", args=[campaign.slug]), follow=True)
    html = page.content.decode()
    assert "Soyez juste." in html and "Ancien." not in html
    assert f'name="guideline_version_id" value="{french.pk}"' in html
    assignment = Assignment.objects.get(annotator=annotator)
    client.post(
        reverse("task_submit", args=[assignment.pk]),
        {"choice": "A", "guideline_version_id": str(french.pk)},
    )
    label = Annotation.objects.get(annotator=annotator)
    assert (label.guideline_version.version, label.guideline_version.language) == (2, "fr")


def test_a_language_without_a_translation_falls_back_to_the_default_and_says_so():
    campaign = _campaign(default_language="fr")
    guideline_publish(campaign=campaign, text="Soyez juste.", texts={"en": "Be fair."})
    annotator = onboarded_annotator()
    html = (
        _client(annotator, "de")
        .get(reverse("campaign_work", args=[campaign.slug]), follow=True)
        .content.decode()
    )
    assert "Soyez juste." in html and "Be fair." not in html
    assert 'data-fallback-language="fr"' in html
    assert "Diese Richtlinien sind noch nicht in Ihrer Sprache verfügbar" in html


def test_site_consent_is_shown_and_recorded_in_the_readers_language():
    annotator = AnnotatorFactory()
    client = _client(annotator, "ar")
    page = client.get(reverse("consent"))
    document = page.context["document"]
    assert document.language == "ar" and "ندعوك إلى المشاركة" in document.text
    client.post(
        reverse("consent"),
        {
            "version": document.version,
            "text_sha256": document.sha256,
            "language": "ar",
            "agree": "on",
        },
    )
    consent = Consent.objects.get(annotator=annotator)
    assert consent.language == "ar"
    assert consent.text_sha256 == hashlib.sha256(document.text.encode()).hexdigest()
    # Read in Arabic, agreed once: the English page does not ask again.
    english = consent_document(campaign=None, language="en")
    assert english.sha256 != document.sha256
    assert consent_has_given(annotator=annotator, document=english)


def test_consent_to_a_text_in_one_language_cannot_be_posted_as_another():
    annotator = AnnotatorFactory()
    french = consent_document(campaign=None, language="fr")
    with pytest.raises(ConsentOutdated):
        consent_give(
            annotator=annotator,
            campaign=None,
            version=french.version,
            text_sha256=french.sha256,
            language="de",
        )
    assert not Consent.objects.exists()


def test_campaign_consent_texts_per_language_with_fallback():
    campaign = _campaign(
        consent={"version": "v2", "text": "Study consent.", "texts": {"es": "Consentimiento."}}
    )
    spanish = consent_document(campaign=campaign, language="es")
    assert (spanish.text, spanish.language, spanish.version) == ("Consentimiento.", "es", "v2")
    german = consent_document(campaign=campaign, language="de")
    assert (german.text, german.language) == ("Study consent.", "en")
    annotator = AnnotatorFactory()
    html = (
        _client(annotator, "de")
        .get(reverse("campaign_consent", args=[campaign.slug]))
        .content.decode()
    )
    assert "Study consent." in html and 'data-fallback-language="en"' in html
    assert "Information und Einwilligung" in html


def _admin_api() -> APIClient:
    api = APIClient()
    api.force_authenticate(UserFactory(is_staff=True))
    return api


def test_rest_campaign_create_takes_guidelines_per_language():
    api = _admin_api()
    body = {
        "slug": "rest-multi",
        "name": "REST",
        "guidelines": {"en": "Be fair.", "zh-Hans": "要公平。", "ar": "كن منصفًا."},
    }
    response = api.post("/api/v1/campaigns/create/", body, format="json")
    assert response.status_code == 201, response.content
    rows = set(
        GuidelineVersion.objects.filter(campaign__slug="rest-multi").values_list(
            "version", "language"
        )
    )
    assert rows == {(1, "en"), (1, "zh-hans"), (1, "ar")}
    response = api.post(
        "/api/v1/campaigns/rest-multi/guidelines/",
        {"text": "Be kind.", "translations": {"fr": "Soyez aimable."}},
        format="json",
    )
    assert response.status_code == 201
    assert response.json() == {"version": 2, "languages": ["en", "fr"]}


@pytest.mark.parametrize(
    ("guidelines", "config", "reason"),
    [
        ({"en": "x", "kl": "y"}, {}, "not one of the site's languages"),
        ({"fr": "x"}, {}, "default language (en) is missing"),
        ({"en": "x"}, {"default_language": "fr"}, "default language (fr) is missing"),
        ({"en": ""}, {}, "the text is empty"),
        # The typed config (issue 13) names the key inside "config": {"<key>": [...]}.
        ("x", {"default_language": "xx"}, "'default_language'"),
        ("x", {"consent": {"text": "c", "texts": {"qq": "z"}}}, "consent.texts"),
    ],
)
def test_rest_refuses_bad_language_texts_with_a_400(guidelines, config, reason):
    response = _admin_api().post(
        "/api/v1/campaigns/create/",
        {"slug": "bad", "name": "Bad", "guidelines": guidelines, "config": config},
        format="json",
    )
    assert response.status_code == 400
    assert reason in str(response.json())
    assert not GuidelineVersion.objects.exists()


def test_admin_publishes_one_version_in_several_languages():
    campaign = _campaign()
    admin_user = UserFactory(is_staff=True, is_superuser=True)
    client = client_for(AnnotatorFactory(user=admin_user))
    url = reverse("admin:annotate_campaign_change", args=[campaign.pk])
    page = client.get(url)
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and k != "config"}
    data["config"] = "{}"
    data.update(
        {
            "task_mix": '{"pairwise": 1}',
            "rating_attributes": '["helpfulness"]',
            "critique_categories": '["other"]',
        }
    )
    for formset in page.context["inline_admin_formsets"]:
        fs = formset.formset
        data[f"{fs.prefix}-TOTAL_FORMS"] = str(len(fs.forms))
        data[f"{fs.prefix}-INITIAL_FORMS"] = "0"
        data[f"{fs.prefix}-MIN_NUM_FORMS"] = "0"
        data[f"{fs.prefix}-MAX_NUM_FORMS"] = "1000"
    new = next(
        f.formset
        for f in page.context["inline_admin_formsets"]
        if f.formset.model is GuidelineVersion and f.formset.extra
    )
    for n, form_ in enumerate(new.forms):
        data[f"{new.prefix}-{n}-language"] = form_.initial["language"]
        data[f"{new.prefix}-{n}-text"] = {"en": "Be fair.", "ar": "كن منصفًا."}.get(
            form_.initial["language"], ""
        )
    response = client.post(url, data)
    assert response.status_code == 302, response.context and response.context["errors"]
    assert set(GuidelineVersion.objects.values_list("version", "language")) == {
        (1, "en"),
        (1, "ar"),
    }
