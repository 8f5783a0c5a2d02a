"""Tasks that only the infrastructure tests load into a real worker (``--include``).

They exist to prove a worker writes to the database the test reads, which no production
task should be bent to do.
"""

from __future__ import annotations

from celery import shared_task
from django.contrib.auth.models import Group


@shared_task(name="tests.config.worker_tasks.record_group")
def record_group(name: str) -> int:
    """Create (or find, when redelivered) a group row; return its primary key."""
    group, _ = Group.objects.get_or_create(name=name)
    return group.pk
