"""Production settings pass ``manage.py check --deploy`` with no warnings."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def _check_deploy(extra_env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "CHORUS_HTTPS", "CHORUS_HSTS", "CHORUS_TRUSTED_PROXIES"))
    }
    env.update(extra_env)
    env["DJANGO_SETTINGS_MODULE"] = "config.settings"
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_environment_passes_check_deploy():
    result = _check_deploy(
        {
            "CHORUS_HTTPS": "1",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
            "DJANGO_DEBUG": "0",
            "DJANGO_ALLOWED_HOSTS": "chorus.example.org",
            "CHORUS_TRUSTED_PROXIES": "10.0.0.0/8",
        }
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "no issues" in output, output


def test_https_without_trusted_proxies_is_flagged():
    """CHORUS_HTTPS means a proxy in front; without CHORUS_TRUSTED_PROXIES all clients
    would share its address (lockouts, rate limits)."""
    production = {
        "CHORUS_HTTPS": "1",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
        "DJANGO_DEBUG": "0",
        "DJANGO_ALLOWED_HOSTS": "chorus.example.org",
    }
    result = _check_deploy(production)
    output = result.stdout + result.stderr
    assert result.returncode != 0 and "chorus.W001" in output, output
    result = _check_deploy({**production, "CHORUS_TRUSTED_PROXIES": "10.0.0.0/33"})
    output = result.stdout + result.stderr
    assert result.returncode != 0 and "chorus.E001" in output, output


def test_development_defaults_are_flagged():
    """The control: without the production variables the deploy check complains."""
    result = _check_deploy({"DJANGO_DEBUG": "1"})
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    for check in ("security.W004", "security.W008", "security.W009", "security.W018"):
        assert check in output, (check, output)


def test_production_settings_values():
    """What check --deploy cannot see: proxy header, samesite, CSP, no debug."""
    code = (
        "from django.conf import settings as s;"
        "print(s.SECURE_PROXY_SSL_HEADER, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE,"
        " s.SECURE_HSTS_SECONDS, s.DEBUG, s.ALLOWED_HOSTS, s.SESSION_COOKIE_SAMESITE,"
        " 'annotate.security.middleware.ContentSecurityPolicyMiddleware' in s.MIDDLEWARE)"
    )
    env = {
        **os.environ,
        "CHORUS_HTTPS": "1",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
        "DJANGO_ALLOWED_HOSTS": "chorus.example.org",
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    result = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "('HTTP_X_FORWARDED_PROTO',",
        "'https')",
        "True",
        "True",
        "31536000",
        "False",
        "['chorus.example.org']",
        "Lax",
        "True",
    ], result.stdout
