import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

# Objects that live as long as the worker leave the collector's walks (config/gc_tuning).
from config.gc_tuning import freeze_startup_objects  # noqa: E402

freeze_startup_objects()
