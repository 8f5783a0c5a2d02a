"""Fuzz every API parameter and JSON body with hostile values, on PostgreSQL.

Query parameters: each operation's documented parameters, each valid or hostile (NUL,
lone surrogates, ``²``, 5,000 digits, NaN, huge strings), plus hostile extra names.
Bodies: the operation's valid body with one value or key made hostile, arbitrary JSON,
raw documents no serializer writes (50,000 levels deep, bare NaN/Infinity, 1e400,
5,000-digit numbers, escaped NUL and surrogates) and bytes that are not UTF-8. Sent as
an admin (who reaches every operation) and, for reads, as a researcher. Counts per
operation go to test-artifacts/fuzz-api.json; any answer >= 500 fails the test.
(tests/annotate/api/test_schema_fuzz.py fuzzes the same API from its OpenAPI schema.)
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token

from tests.fuzz.strategies import BINARY, encode, mutated_json, near_valid_form
from tests.fuzz.tally import Tally
from tests.fuzz.world import FUZZ, World, build_world, form_body

pytestmark = pytest.mark.slow
API = "/api/v1/"
PAGING = {"cursor": ["cD0xMA=="], "page_size": ["2", "500"]}
FILTERS = {
    "task_type": ["pairwise", "rating,edit"],
    "created_after": ["2026-01-01"],
    "created_before": ["2026-12-31T10:00:00"],
    "guideline_version": ["1"],
    "endpoint": ["1"],
    "policy_version": ["1"],
    "annotator": ["a1"],
    "country": ["GB"],
    "age_band": ["25-34"],
}
EXPORT = {
    "shape": ["raw", "trl-preference", "trl-unpaired", "ranking"],
    "format": ["jsonl", "csv"],
    "conversational": ["1", "0"],
    "ranking_pairs": ["all", "best"],
    "min_margin": ["1", "0.5"],
    "attribute": ["helpfulness"],
    "threshold": ["3"],
    "sources": ["pairwise,edit"],
    "async": ["0"],
}
READS: dict[str, dict[str, list[str]]] = {
    "campaigns/": PAGING,
    "campaigns/fuzz/": {},
    "campaigns/fuzz/items/": {"task_type": ["pairwise"], **PAGING},
    "campaigns/fuzz/annotators/": {"page_size": ["10"]},
    "campaigns/fuzz/analytics/": {},
    "campaigns/fuzz/export": {**EXPORT, **FILTERS},
    "annotations/": {"campaign": ["fuzz"], **FILTERS, **PAGING},
    "assignments/": {"campaign": ["fuzz"], "status": ["active"], **PAGING},
    "model-endpoints/": {"campaign": ["fuzz"], **PAGING},
    "policy-versions/": {"campaign": ["fuzz"], **PAGING},
    "reward-model-versions/": {"campaign": ["fuzz"], **PAGING},
    "grants/": {"campaign": ["fuzz"], **PAGING},
    "exports/": PAGING,
    "me/": {},
    "me/data": {"campaign": ["fuzz"], "sig": ["0" * 32]},
    "campaigns/fuzz/webhooks/": {},
}
ITEM = {
    "task_type": "pairwise",
    "messages": [{"role": "user", "content": "How do tides work?"}],
    "responses": [
        {"text": "The moon.", "source": "s", "generation_params": {"t": 1}},
        {"text": "Wind."},
    ],
    "external_id": "x1",
    "priority": 1.0,
    "is_gold": False,
    "gold_answer": None,
    "overlap": 2,
    "metadata": {"topic": "tides"},
}
CONFIG = {
    "gold_rate": 0.1,
    "min_seconds": 2,
    "quotas": {"fields": ["residence_country"], "cells": {"GB": 3}},
    "refit": {"enabled": False, "every_minutes": 30},
}
WRITES: dict[tuple[str, str], Any] = {
    ("post", "campaigns/create/"): {
        "slug": "fuzz-new",
        "name": "New",
        "task_mix": {"pairwise": 1},
        "rating_attributes": ["helpfulness"],
        "config": CONFIG,
    },
    ("patch", "campaigns/fuzz/configure/"): {
        "description": "d",
        "overlap": 100,
        "task_mix": {"pairwise": 1, "rating": 1},
        "config": CONFIG,
    },
    ("post", "campaigns/fuzz/guidelines/"): {"text": "Be kind."},
    ("post", "campaigns/fuzz/items/add/"): {"items": [ITEM]},
    ("post", "campaigns/fuzz-chat/conversations/add/"): {"n": 1, "overlap": 1},
    ("post", "campaigns/fuzz-chat/models/"): {"default": 0, "endpoints": []},
    ("post", "grants/create/"): {"campaign": "fuzz", "user": "fuzz-researcher"},
    ("post", "me/data/delete"): {"confirm": False},
    ("post", "campaigns/fuzz/join-links/"): {"participants": ["p-1", "p-2"], "study_id": "s"},
    ("post", "campaigns/fuzz/webhooks/"): {
        "url": "https://hooks.example.org/in",
        "events": ["labels.received", "campaign.done"],
        "description": "fuzz",
    },
}


def _headers(user: Any) -> dict[str, str]:
    token, _ = Token.objects.get_or_create(user=user)
    return {"HTTP_AUTHORIZATION": f"Token {token.key}"}


@pytest.fixture
def world(transactional_db, monkeypatch) -> World:
    # Webhook URLs are resolved: answer every name without the network (a private
    # address, so registration is refused or allowed by the setting, never hangs on DNS).
    from annotate.webhooks import network

    def resolve(host: str, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        return [(2, 1, 6, "", ("10.0.0.1", port or 443))]

    monkeypatch.setattr(network.socket, "getaddrinfo", resolve)
    return build_world()


def _fuzz_read(world: World, tally: Tally, path: str, valid: dict[str, list[str]]) -> None:
    clients = {
        who: (world.client(None), _headers(getattr(world, who))) for who in ("admin", "researcher")
    }

    @FUZZ
    @given(who=st.sampled_from(sorted(clients)), pairs=near_valid_form(valid))
    def run(who: str, pairs: list[tuple[str, str]]) -> None:
        client, headers = clients[who]
        response = client.get(f"{API}{path}?{form_body(pairs)}", **headers)
        tally.record(f"GET {path}", response.status_code, pairs)

    run()


def _fuzz_write(world: World, tally: Tally, method: str, path: str, template: Any) -> None:
    client, headers = world.client(None), _headers(world.admin)
    bodies = st.one_of(mutated_json(template).map(encode), BINARY)

    @FUZZ
    @given(body=bodies)
    def run(body: bytes) -> None:
        send = getattr(client, method)
        response = send(f"{API}{path}", body, content_type="application/json", **headers)
        tally.record(f"{method.upper()} {path}", response.status_code, body)

    run()


def test_every_api_parameter_and_body_answers_below_500(world):
    tally = Tally("api")
    for path, valid in READS.items():
        _fuzz_read(world, tally, path, valid)
    for (method, path), template in WRITES.items():
        _fuzz_write(world, tally, method, path, template)
    tally.assert_clean()
