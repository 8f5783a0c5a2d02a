"""The roles every permission check names exist on a fresh install.

Regression: the ``researcher`` group was only created by ``seed_demo``, so on an
install without the demo an admin had no group to put a researcher in.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

from annotate.roles import RESEARCHER_GROUP

pytestmark = pytest.mark.django_db


def test_migrate_creates_the_researcher_group():
    Group.objects.filter(name=RESEARCHER_GROUP).delete()
    call_command("migrate", verbosity=0)  # nothing to apply: post_migrate still runs
    assert Group.objects.filter(name=RESEARCHER_GROUP).count() == 1
    call_command("migrate", verbosity=0)
    assert Group.objects.filter(name=RESEARCHER_GROUP).count() == 1  # idempotent
