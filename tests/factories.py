"""factory_boy factories for the core models. Add yours below, additively."""

from __future__ import annotations

from datetime import timedelta

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from annotate.models import (
    Annotator,
    Assignment,
    Campaign,
    CampaignStatus,
    GuidelineVersion,
    Item,
    ItemResponse,
    ProfileVersion,
    Prompt,
    Response,
    TaskType,
)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.django.Password("correct-horse-battery")


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign

    slug = factory.Sequence(lambda n: f"campaign-{n}")
    name = factory.LazyAttribute(lambda c: c.slug.replace("-", " ").title())
    status = CampaignStatus.OPEN
    overlap = 1
    task_mix = factory.LazyFunction(lambda: {TaskType.PAIRWISE: 1.0})


class GuidelineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = GuidelineVersion

    campaign = factory.SubFactory(CampaignFactory)
    version = 1
    text = "Prefer the response that is more helpful and honest."


class AnnotatorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Annotator

    user = factory.SubFactory(UserFactory)


class ProfileVersionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProfileVersion

    annotator = factory.SubFactory(AnnotatorFactory)
    version = 1
    age_band = "25-34"
    gender = "female"
    birth_country = "GB"
    residence_country = "GB"
    first_language = "English"
    english_proficiency = "native"
    education = "university"
    employment = "full_time"
    marital_status = "single"
    ethnicity = "white"
    religion = "none"
    ai_familiarity = "somewhat"
    ai_frequency = "weekly"
    use_cases = factory.LazyFunction(lambda: ["writing"])
    pref_values = 50
    pref_creativity = 50
    pref_fluency = 50
    pref_factuality = 80
    pref_diversity = 50
    pref_safety = 70
    pref_personalisation = 30
    pref_helpfulness = 90


class PromptFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Prompt

    campaign = factory.SubFactory(CampaignFactory)
    text = factory.Sequence(lambda n: f"Question number {n}: how do tides work?")
    messages = factory.LazyAttribute(lambda p: [{"role": "user", "content": p.text}])


class ResponseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Response

    prompt = factory.SubFactory(PromptFactory)
    text = factory.Sequence(lambda n: f"Answer {n}: the moon's gravity pulls the sea.")
    source = "test"


class ItemFactory(factory.django.DjangoModelFactory):
    """An item with responses to one prompt: 2 for pairwise, 3 for ranking, else 1.

    ``ItemFactory(with_responses__n=4)`` sets the count.
    """

    class Meta:
        model = Item
        skip_postgeneration_save = True

    campaign = factory.SubFactory(CampaignFactory)
    task_type = TaskType.PAIRWISE
    prompt = factory.SubFactory(PromptFactory, campaign=factory.SelfAttribute("..campaign"))
    overlap = factory.LazyAttribute(lambda i: i.campaign.overlap)

    @factory.post_generation
    def with_responses(self, create, extracted, **kwargs):
        if not create:
            return
        n = kwargs.get("n") or {
            TaskType.PAIRWISE: 2,
            TaskType.RANKING: 3,
            TaskType.BWS: 4,
        }.get(self.task_type, 1)
        for position in range(n):
            response = ResponseFactory(prompt=self.prompt)
            ItemResponse.objects.create(item=self, response=response, position=position)


class AssignmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Assignment

    item = factory.SubFactory(ItemFactory)
    annotator = factory.SubFactory(AnnotatorFactory)
    campaign = factory.SelfAttribute("item.campaign")
    lease_expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(minutes=15))


# --- modelserve (issue 4: generation) -------------------------------------------------
class ModelEndpointFactory(factory.django.DjangoModelFactory):
    """A generation endpoint; tests usually set backend="fake" (see tests/modelserve)."""

    class Meta:
        model = "modelserve.ModelEndpoint"
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"endpoint-{n}")
    anon_label = ""
    backend = "fake"
    model = "echo"
    params = factory.LazyFunction(lambda: {"temperature": 0.7, "max_new_tokens": 32})

    @factory.post_generation
    def pool(self, create, extracted, **kwargs):
        """ModelEndpointFactory(pool=[campaign, ...]) adds it to those campaigns' pools."""
        if create and extracted:
            self.campaigns.add(*extracted)
