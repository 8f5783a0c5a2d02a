"""Static file storage whose URLs are worked out once per file and process.

Every page asks ``{% static %}`` for the same half-dozen files; Django's storage joins
the URL afresh each time (``urljoin`` and quoting, about 20 us a call, seven calls a
task page; issue 14). STATIC_URL does not change while a process runs (a test that
overrides it gets a new storage object, and so an empty memo).
"""

from __future__ import annotations

from django.contrib.staticfiles.storage import StaticFilesStorage


class MemoStaticFilesStorage(StaticFilesStorage):
    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._urls: dict[str, str] = {}

    def url(self, name: str | None) -> str:
        if name is None:
            return super().url(name)
        url = self._urls.get(name)
        if url is None:
            url = self._urls[name] = super().url(name)
        return url
