"""Which language a page comes in: the menu's choice, then the annotator's preference,
then the browser's Accept-Language, else English; Arabic pages read right to left."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from annotate.i18n.languages import SESSION_KEY, language_supported
from annotate.models import Annotator
from tests.annotate.ui_helpers import PROFILE_POST, client_for, onboarded_annotator

pytestmark = pytest.mark.django_db
COOKIE = settings.LANGUAGE_COOKIE_NAME


def _signup_page(client: Client, **headers: str) -> str:
    response = client.get(reverse("signup"), headers=headers)
    assert response.status_code == 200
    return response.content.decode()


def test_english_without_any_hint():
    html = _signup_page(Client())
    assert '<html lang="en" dir="ltr">' in html
    assert "Create an account" in html


@pytest.mark.parametrize(
    ("accept", "lang", "heading"),
    [
        ("fr-FR,fr;q=0.9,en;q=0.5", "fr", "Créer un compte"),
        ("es", "es", "Crear una cuenta"),
        ("de-CH", "de", "Konto erstellen"),
        ("zh-CN,zh;q=0.9", "zh-hans", "创建账户"),
        ("ar-EG", "ar", "أنشئ حسابًا"),
        ("ja,ko;q=0.5", "en", "Create an account"),  # no Japanese: English
    ],
)
def test_accept_language_picks_the_page_language(accept, lang, heading):
    html = _signup_page(Client(), **{"Accept-Language": accept})
    direction = "rtl" if lang == "ar" else "ltr"
    assert f'<html lang="{lang}" dir="{direction}">' in html
    assert heading in html


def test_language_codes_are_matched_like_django_does():
    assert language_supported("fr-CA") == "fr"
    assert language_supported("zh-CN") == "zh-hans"
    assert language_supported("zh_Hans") == "zh-hans"
    assert language_supported("xx") is None
    assert language_supported("") is None


def test_the_annotators_preference_beats_the_browser():
    annotator = onboarded_annotator()
    annotator.ui_language = "de"
    annotator.save(update_fields=["ui_language"])
    client = client_for(annotator)  # log-in copies the preference into the session
    assert client.session[SESSION_KEY] == "de"
    html = client.get(reverse("profile"), headers={"Accept-Language": "fr"}).content.decode()
    assert '<html lang="de"' in html and "Ihr Profil" in html


def test_a_session_from_before_the_preference_existed_reads_it_once():
    annotator = onboarded_annotator()
    Annotator.objects.filter(pk=annotator.pk).update(ui_language="es")
    client = client_for(annotator)
    session = client.session
    del session[SESSION_KEY]
    session.save()
    html = client.get(reverse("profile")).content.decode()
    assert '<html lang="es"' in html
    assert client.session[SESSION_KEY] == "es"


def test_the_menu_choice_beats_the_preference_and_is_saved_as_the_new_one():
    annotator = onboarded_annotator()
    annotator.ui_language = "de"
    annotator.save(update_fields=["ui_language"])
    client = client_for(annotator)
    response = client.post(reverse("language_switch"), {"language": "ar", "next": "/profile/"})
    assert response.status_code == 303 and response["Location"] == "/profile/"
    assert response.cookies[COOKIE].value == "ar"
    annotator.refresh_from_db()
    assert annotator.ui_language == "ar"  # follows them to another device
    html = client.get("/profile/", headers={"Accept-Language": "fr"}).content.decode()
    assert '<html lang="ar" dir="rtl">' in html and "ملفك الشخصي" in html
    # Another device: no cookie, the saved preference.
    other = client_for(annotator)
    other.cookies.pop(COOKIE, None)
    assert '<html lang="ar"' in other.get("/profile/").content.decode()


def test_the_cookie_beats_the_preference():
    annotator = onboarded_annotator()
    annotator.ui_language = "de"
    annotator.save(update_fields=["ui_language"])
    client = client_for(annotator)
    client.cookies[COOKIE] = "fr"
    assert '<html lang="fr"' in client.get("/profile/").content.decode()


def test_menu_choice_works_before_sign_up_and_follow_the_browser_again():
    client = Client()
    response = client.post(reverse("language_switch"), {"language": "zh-hans", "next": "/"})
    assert response.cookies[COOKIE].value == "zh-hans"
    assert "创建账户" in _signup_page(client, **{"Accept-Language": "fr"})
    response = client.post(reverse("language_switch"), {"language": "", "next": "/"})
    assert response.cookies[COOKIE].value == ""  # deleted
    assert "Créer un compte" in _signup_page(client, **{"Accept-Language": "fr"})


def test_menu_refuses_an_unknown_language_and_an_unsafe_next():
    client = Client()
    response = client.post(reverse("language_switch"), {"language": "<b>xx</b>"})
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/plain")
    assert b"Unknown language <b>xx</b>" in response.content
    response = client.post(
        reverse("language_switch"), {"language": "fr", "next": "https://evil.example/"}
    )
    assert response.status_code == 303 and response["Location"] == reverse("home")


def test_menu_needs_csrf_and_post():
    client = Client(enforce_csrf_checks=True)
    assert client.post(reverse("language_switch"), {"language": "fr"}).status_code == 403
    assert client.get(reverse("language_switch")).status_code == 405


def test_every_annotator_page_has_the_menu_with_every_language():
    html = _signup_page(Client())
    assert 'action="/language/"' in html
    for code, name in settings.LANGUAGES:
        assert f'value="{code}"' in html and name in html


def test_staff_and_machine_pages_stay_english():
    client = Client()
    response = client.get("/api/v1/campaigns/", headers={"Accept-Language": "fr"})
    assert response.status_code in (401, 403)
    assert "Authentication credentials were not provided." in response.json()["detail"]
    response = client.get("/admin/login/", headers={"Accept-Language": "fr"})
    assert '<html lang="en' in response.content.decode()


def test_pages_vary_on_the_language_inputs():
    response = Client().get(reverse("signup"), headers={"Accept-Language": "de"})
    assert response["Content-Language"] == "de"
    assert "Accept-Language" in response["Vary"] and "Cookie" in response["Vary"]


def test_profile_form_saves_the_preference_and_the_page_follows():
    annotator = onboarded_annotator()
    client = client_for(annotator)
    page = client.get(reverse("profile_edit"), headers={"Accept-Language": "fr"})
    assert "Langue de ce site" in page.content.decode()
    response = client.post(reverse("profile_edit"), {**PROFILE_POST, "ui_language": "es"})
    assert response.status_code in (302, 303)
    annotator.refresh_from_db()
    assert annotator.ui_language == "es"
    assert response.cookies[COOKIE].value == "es"
    html = client.get(reverse("profile"), headers={"Accept-Language": "fr"}).content.decode()
    assert "Su perfil" in html and "Español" in html
    response = client.post(reverse("profile_edit"), {**PROFILE_POST, "ui_language": "nope"})
    assert response.status_code == 400
    assert "ui_language" in response.context["form"].errors


def test_profile_choices_and_countries_are_translated():
    client = Client()
    client.cookies[COOKIE] = "fr"
    annotator = onboarded_annotator()
    client.force_login(annotator.user)
    html = client.get(reverse("profile_edit")).content.decode()
    assert "Je préfère ne pas répondre" in html
    assert ">Royaume-Uni<" in html and ">Allemagne<" in html  # CLDR names
    assert "Quel est votre niveau d\u2019anglais ?" in html
    response = client.post(reverse("profile_edit"), {**PROFILE_POST, "self_description": "x"})
    assert "Veuillez écrire au moins quelques mots." in response.content.decode()
