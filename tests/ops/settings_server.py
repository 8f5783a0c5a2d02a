"""Settings of the servers and workers the fault tests start as subprocesses.

The test settings (DATABASE_URL / CELERY_BROKER_URL from the environment the test
passes), plus: a fast password hasher (people sign up over HTTP), the scripted fake
generation backend, persistent connections with health checks (what production runs,
and what "recovers without a restart" must survive), and a short broker visibility
timeout so a message whose worker was killed is redelivered within seconds.
"""

import os

from config.settings_test import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CHORUS_GENERATION_BACKENDS = {"fake": "modelserve.generation.backends.fake.FakeBackend"}
DATABASES["default"]["CONN_MAX_AGE"] = 60  # noqa: F405
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True  # noqa: F405
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", "3")),
    # kombu sweeps for abandoned messages every interval x throttle seconds (10 x 10 by
    # default): without these a redelivery could take ~100 s after the visibility timeout.
    "unacked_restore_interval": 1,
    "unacked_restore_throttle": 1,
}
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
if os.environ.get("CHORUS_MODEL_DIR"):
    CHORUS_MODEL_DIR = os.environ["CHORUS_MODEL_DIR"]
