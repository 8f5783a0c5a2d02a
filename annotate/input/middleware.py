"""Every query parameter and form field of every request passes the text rule first.

``InputBoundaryMiddleware`` looks at the names and values of the query string and of
url-encoded or multipart form bodies (and at the Authorization and Cookie headers, which
reach database lookups), and refuses a NUL character or an unpaired surrogate with 400
naming the field, before any view, form or queryset sees it: PostgreSQL cannot store or
even compare such text, so a filter such as ``?campaign=a%00b`` used to be a 500.
Under /api/ the answer is DRF's shape, ``{"<name>": ["<why>"]}``; elsewhere a short page.
JSON bodies are checked by annotate.input.drf.BoundedJSONParser.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from annotate.input.checks import text_problem

API_PREFIX = "/api/"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
HEADERS = {"HTTP_AUTHORIZATION": "Authorization header", "HTTP_COOKIE": "Cookie header"}


def _first_problem(items: Iterable[tuple[str, list[str]]]) -> tuple[str, str] | None:
    for name, values in items:
        problem = text_problem(name)
        if problem:
            return "a field name", problem
        for value in values:
            problem = text_problem(value)
            if problem:
                return name, problem
    return None


class InputBoundaryMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        found = self.problem(request)
        if found is None:
            return self.get_response(request)
        name, problem = found
        if request.path_info.startswith(API_PREFIX):
            return JsonResponse({name: [problem]}, status=400)
        return render(
            request,
            "annotate/message.html",
            {"title": "We could not read that request", "message": f"{name}: {problem}"},
            status=400,
        )

    @staticmethod
    def problem(request: HttpRequest) -> tuple[str, str] | None:
        for header, label in HEADERS.items():
            problem = text_problem(request.META.get(header, ""))
            if problem:
                return label, problem
        found = _first_problem(request.GET.lists())
        reads_form = request.method not in ("GET", "HEAD", "OPTIONS")
        if found is None and reads_form and request.content_type in FORM_TYPES:
            found = _first_problem(request.POST.lists())
        return found
