"""The simulated browser's HTTP rules (annotate/simulation/browser.py), on a mock transport."""

from __future__ import annotations

import time

import httpx
import pytest

from annotate.simulation.browser import Browser, request_kind
from annotate.simulation.driver import PersonResult
from annotate.simulation.model import Person


def browser(handler, *, max_errors: int = 5) -> Browser:  # type: ignore[no-untyped-def]
    result = PersonResult(person=Person(0, {}, "", 1.0), username="sim-0")
    b = Browser(
        base_url="http://chorus.test",
        result=result,
        deadline=time.monotonic() + 60,
        max_errors=max_errors,
        retry_503=False,
    )
    b.client = httpx.Client(base_url=b.base, transport=httpx.MockTransport(handler))
    return b


def test_a_connection_closed_while_idle_is_sent_again_once_without_an_error() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.headers.get("cookie", ""))
        if len(calls) == 1:
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
        return httpx.Response(303, headers={"Location": "/tasks/7/", "Set-Cookie": "a=1"})

    b = browser(handler)
    b.cookies.take(httpx.Response(200, headers={"set-cookie": "csrftoken=t"}))
    response = b.request("POST", "/tasks/6/submit/", data={"x": "1"})
    assert response.status_code == 303 and calls == ["csrftoken=t", "csrftoken=t"]
    assert b.result.reconnects == 1 and dict(b.result.errors) == {}
    assert b.cookies.header() == "csrftoken=t; a=1" and not b.client.cookies


def test_a_second_failure_is_an_error_and_too_many_raise() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadError("Connection reset by peer")

    b = browser(handler, max_errors=2)
    with pytest.raises(httpx.ReadError):
        b.request("GET", "/tasks/3/")
    assert b.result.reconnects == 1 and b.result.errors["task_page"] == 3
    assert b.result.transport_errors[0].startswith("GET /tasks/3/: ReadError(")


def test_request_kinds() -> None:
    assert request_kind("/tasks/5/submit/") == "submit"
    assert request_kind("http://h/tasks/5/") == "task_page"
    assert request_kind("/c/demo/") == "next"
    assert request_kind("/c/demo/consent/") == "onboarding"
