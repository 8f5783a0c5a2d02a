"""annotate.selectors.read_ahead: an export's reads in a thread of their own (issue 14).

The threaded path needs committed data (its thread has its own connection), so these
tests run outside the test transaction (``transaction=True``). The exports that use it
are compared with the general path in tests/annotate/api/test_exports_fast_shapes.py.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from django.db import transaction

from annotate.models import Campaign
from annotate.selectors.read_ahead import read_ahead


def _threads_seen(n: int, fail_at: int | None = None) -> Iterator[tuple[str, int]]:
    for i in range(n):
        if i == fail_at:
            raise ValueError(f"read {i} failed")
        # A query on this thread's connection: committed rows only.
        yield threading.current_thread().name, Campaign.objects.count()


@pytest.mark.django_db(transaction=True)
def test_reads_run_in_another_thread_on_committed_data():
    Campaign.objects.create(slug="c1", name="C1")
    got = list(read_ahead(lambda: _threads_seen(3)))
    assert got == [("chorus-read-ahead", 1)] * 3


@pytest.mark.django_db(transaction=True)
def test_inside_a_transaction_the_reads_stay_here():
    with transaction.atomic():
        Campaign.objects.create(slug="c1", name="C1")  # not committed: only here
        got = list(read_ahead(lambda: _threads_seen(2)))
    assert got == [(threading.current_thread().name, 1)] * 2


@pytest.mark.django_db(transaction=True)
def test_an_error_in_the_thread_is_raised_here_after_what_came_before():
    seen = []
    with pytest.raises(ValueError, match="read 2 failed"):
        for value in read_ahead(lambda: _threads_seen(5, fail_at=2)):
            seen.append(value)
    assert len(seen) == 2


@pytest.mark.django_db(transaction=True)
def test_a_consumer_that_stops_early_ends_the_thread():
    before = threading.active_count()
    reads = read_ahead(lambda: _threads_seen(1000))
    assert next(reads)[0] == "chorus-read-ahead"
    reads.close()  # what a hung-up client's streaming response does
    assert threading.active_count() == before
    assert not any(t.name == "chorus-read-ahead" for t in threading.enumerate())


@pytest.mark.django_db(transaction=True)
def test_setup_tunes_the_threads_connection_only():
    from django.db import connection

    from annotate.selectors.exports import export_reads_tuned

    def hashjoin() -> Iterator[str]:
        with connection.cursor() as cursor:
            cursor.execute("SHOW enable_hashjoin")
            yield cursor.fetchone()[0]

    assert list(read_ahead(hashjoin, setup=export_reads_tuned)) == ["off"]
    assert next(hashjoin()) == "on"  # this thread's connection is untouched
    with transaction.atomic():  # the reads stay here, and so does no setup
        assert list(read_ahead(hashjoin, setup=export_reads_tuned)) == ["on"]
