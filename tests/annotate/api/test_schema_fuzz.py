"""Fuzz the API from its own OpenAPI schema with schemathesis: no 5xx, answers match it.

Every operation gets a bounded number of generated requests (``EXAMPLES``), sent as an
admin (who reaches every endpoint) and as a researcher (who meets 403/404 paths), through
Django's real WSGI application. ``transactional_db`` because WSGI requests close the
database connection at the end of each request, which a wrapping transaction forbids.
Every answer's status must be one the schema documents for that operation (400, 403,
404 included), its body must match the documented schema, and none may be >= 500. The
cases tried and the 5xx answers per operation go to test-artifacts/fuzz-schema.json.
"""

from __future__ import annotations

import itertools
import os
from typing import Any

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, Phase, given, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.annotate.api.conftest import World
from tests.fuzz.tally import Tally

EXAMPLES = int(os.environ.get("CHORUS_FUZZ_SCHEMA_EXAMPLES", "6"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    response_schema_conformance,
    content_type_conformance,
]


@pytest.fixture
def fuzz_world(transactional_db, world: World) -> World:
    return world


def _fuzz(operation: Any, app: Any, headers: dict[str, str], tally: Tally) -> None:
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=os.environ.get("CHORUS_FUZZ_RANDOM", "") != "1",
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def run(case: schemathesis.Case) -> None:
        response = case.call(app=app, headers=headers)
        tally.record(operation.label, response.status_code, case.as_curl_command())
        case.validate_response(response, checks=CHECKS, headers=headers)

    run()


def test_fuzz_every_operation(fuzz_world):
    app = get_wsgi_application()
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", app)
    raw = schema.raw_schema
    assert raw["openapi"].startswith("3.")
    assert {
        "/api/v1/campaigns/",
        "/api/v1/campaigns/{slug}/export",
        "/api/v1/annotations/",
        "/api/v1/campaigns/{slug}/annotators/",
        "/api/v1/model-endpoints/",
        "/api/v1/policy-versions/",
        "/api/v1/reward-model-versions/",
        "/api/v1/campaigns/{slug}/analytics/",
        "/api/v1/grants/",
        "/api/v1/me/data/delete",
    } <= set(raw["paths"])
    assert "tokenAuth" in raw["components"]["securitySchemes"]
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 25
    failures: list[str] = []
    tally = Tally("schema")
    for operation, who in itertools.product(operations, ("res_a", "admin")):
        token, _ = Token.objects.get_or_create(user=getattr(fuzz_world, who))
        headers = {"Authorization": f"Token {token.key}"}

        try:
            _fuzz(operation, app, headers, tally)
        except (Exception, BaseExceptionGroup) as exc:  # collect every failure, report together
            failures.append(f"{who} {operation.label}: {exc}"[:3000])
    tally.save()
    assert not failures, "\n\n".join(failures)
    tally.assert_clean()
