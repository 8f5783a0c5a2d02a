"""What several benchmarks share: the onboarded annotator's profile and a fresh database.

Imported after ``django.setup()`` (each script picks its own settings and database name
first), so nothing here configures Django.
"""

from __future__ import annotations

from typing import Any

from annotate.models.profile import STATED_PREFERENCES

# A complete profile, so the profile gate lets the simulated annotator through.
PROFILE: dict[str, Any] = dict(
    age_band="25-34",
    gender="female",
    birth_country="GB",
    residence_country="GB",
    first_language="English",
    english_proficiency="native",
    education="university",
    employment="full_time",
    marital_status="single",
    ethnicity="white",
    religion="none",
    ai_familiarity="somewhat",
    ai_frequency="weekly",
    use_cases=["writing"],
    self_description="I value honesty.",
    system_prompt="Be brief and kind.",
    **{f"pref_{name}": 50 for name in STATED_PREFERENCES},
)


def fresh_database() -> None:
    """Drop and recreate the configured database, then migrate it: every run starts from
    the same empty schema."""
    import psycopg
    from django.core.management import call_command
    from django.db import connection, connections

    params = connection.get_connection_params()
    params = {k: v for k, v in params.items() if k in ("host", "port", "user", "password")}
    name = connection.settings_dict["NAME"]
    connections.close_all()
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    call_command("migrate", verbosity=0)
