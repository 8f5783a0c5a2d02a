"""Settings of the gunicorn under load (bench/bench_load.py): production settings, except
a fast password hasher so that logging 200 simulated people in does not dominate the
figures (PBKDF2 costs ~0.5 s of CPU per login on this 2-core box)."""

from config.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
