"""Drive a running Chorus over HTTP with simulated people, as a browser would.

Each person runs in its own thread with its own cookies (browser.py, cookies.py): sign
up (or log in when the account exists), consent, screener and profile, then loop: task
page -> answer -> submit, until the campaign has nothing left for them, the deadline
passes, or they hit too many errors. Every request is timed by kind; the results carry
what the load benchmark and the validation test need (latencies, errors, the
assignments each person submitted).

Two submit styles: ``htmx=True`` posts like the task page's htmx form (the answer comes
back with the next task's fragment, one request per task); ``htmx=False`` posts the plain
form and follows the redirect to the next task page (two requests per task, so the task
page and the submit are timed separately).
"""

from __future__ import annotations

import contextlib
import logging
import random
import re
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from . import html as pages
from .browser import Browser
from .model import CrowdConfig, Judge, Person, SimResponse

ResponseLookup = Callable[[int], SimResponse]
# One INFO line per request would drown the figures (and cost CPU under load).
logging.getLogger("httpx").setLevel(logging.WARNING)
DONE_MARKERS = ("/done/",)
SKIP_CHOICES = ("self_describe", "prefer_not_to_say")


@dataclass
class Label:
    """One answer as sent: enough to rebuild the simulated truth for analytics checks."""

    person: int
    assignment_id: int
    task_type: str
    response_ids: list[int]
    answer: dict[str, Any]


@dataclass
class PersonResult:
    person: Person
    username: str
    labels: list[Label] = field(default_factory=list)
    submitted: list[int] = field(default_factory=list)  # assignment ids answered with 2xx/3xx
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    codes: dict[int, int] = field(default_factory=lambda: defaultdict(int))  # HTTP statuses
    # (monotonic time, assignment id) of each accepted submit, to see recovery in time.
    submit_times: list[tuple[float, int]] = field(default_factory=list)
    finished: bool = False
    failure: str = ""
    reconnects: int = 0  # requests sent again after a kept-alive connection closed (browser.py)
    transport_errors: list[str] = field(default_factory=list)  # what each one said


@dataclass
class RunResult:
    people: list[PersonResult]
    elapsed_s: float

    @property
    def completed(self) -> int:
        return sum(len(p.submitted) for p in self.people)

    def latencies(self, kind: str) -> list[float]:
        return [x for p in self.people for x in p.latencies.get(kind, [])]

    def errors(self) -> dict[str, int]:
        out: dict[str, int] = defaultdict(int)
        for p in self.people:
            for k, v in p.errors.items():
                out[k] += v
        return dict(out)

    def codes(self) -> dict[int, int]:
        out: dict[int, int] = defaultdict(int)
        for p in self.people:
            for k, v in p.codes.items():
                out[k] += v
        return dict(out)

    def requests(self) -> int:
        return sum(len(v) for p in self.people for v in p.latencies.values())


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100.0 * len(ordered)))]


class Session(Browser):
    """One simulated person: onboarding and the task loop, over ``Browser``'s HTTP."""

    def __init__(
        self,
        *,
        base_url: str,
        campaign_slug: str,
        person: Person,
        config: CrowdConfig,
        lookup: ResponseLookup,
        password: str,
        username_prefix: str,
        htmx: bool,
        deadline: float,
        max_errors: int = 20,
        think_s: float = 0.0,
        retry_503: bool = True,
        gate: threading.Barrier | None = None,
        duration_s: float = 0.0,
        join_url: str = "",
    ) -> None:
        self.gate, self.duration_s, self.past_gate = gate, duration_s, False
        self.join_url = join_url  # a crowd participant's own signed link
        self.slug = campaign_slug
        self.config = config
        self.lookup = lookup
        self.judge = Judge(config, person)
        self.password = password
        self.htmx = htmx
        self.think_s = think_s
        self.rng = random.Random(person.index)
        super().__init__(  # sets self.result, which the HTTP side counts into
            base_url=base_url,
            result=PersonResult(person=person, username=f"{username_prefix}{person.index}"),
            deadline=deadline,
            max_errors=max_errors,
            retry_503=retry_503,
        )

    # -- onboarding ------------------------------------------------------------------
    def sign_up_or_log_in(self) -> None:
        if self.join_url:  # a crowd participant enters through their own signed link
            if not self.request("GET", self.join_url).is_redirect:
                raise RuntimeError(f"{self.join_url}: the join link was refused")
            return
        username = self.result.username
        page = self.request("GET", "/accounts/signup/")
        if page.status_code == 200:
            response = self.post_form(
                "/accounts/signup/",
                {"username": username, "password1": self.password, "password2": self.password},
            )
            if response.is_redirect:
                return
        self.request("GET", "/accounts/login/")
        response = self.post_form(
            "/accounts/login/", {"username": username, "password": self.password}
        )
        if not response.is_redirect:
            raise RuntimeError(f"{username} could not sign up or log in ({response.status_code})")

    def consent(self, page: httpx.Response) -> httpx.Response:
        form = pages.form_with(pages.parse_forms(page.text), field="agree")
        if form is None:
            raise RuntimeError("consent page without a consent form")
        data = {**form.defaults(), "agree": "on"}
        return self.follow(self.post_form(form.action or str(page.url), data))

    def profile(self, page: httpx.Response) -> httpx.Response:
        form = pages.survey_form(pages.parse_forms(page.text))
        if form is None:
            raise RuntimeError("profile page without the survey form")
        data: dict[str, Any] = form.defaults()
        wanted = self.result.person.profile
        for f in form.fields.values():
            choices = [o for o in f.options if o and o not in SKIP_CHOICES]
            if f.kind in ("select", "radio") and choices:
                data[f.name] = wanted.get(f.name) if wanted.get(f.name) in choices else choices[0]
            elif f.name == "use_cases":
                data[f.name] = [choices[0]] if choices else []
            elif f.name.startswith("pref_"):
                data[f.name] = str(self.rng.randint(0, 100))
            elif f.name in ("self_description", "system_prompt"):
                data[f.name] = "I value honest, clear and kind answers."
            elif f.name == "first_language":
                data[f.name] = "English"
        if data.get("ai_frequency") == "never":
            data["use_cases"] = []
        return self.follow(self.post_form(form.action or str(page.url), data))

    # -- work ------------------------------------------------------------------------
    def answer(self, html: str, form: pages.Form) -> tuple[dict[str, Any], Label | None]:
        data: dict[str, Any] = form.defaults()
        kind = pages.task_type(html) or ""
        ids = pages.response_ids(html)
        responses = [self.lookup(rid) for rid in ids]
        answer: dict[str, Any] = {}
        if kind == "pairwise" and len(responses) == 2:
            choice, strength = self.judge.pairwise(responses[0], responses[1])
            data["choice"] = choice
            answer["choice"] = choice
            if strength and "strength" in form.fields:
                data["strength"] = str(strength)
        elif kind == "rating":
            for r in responses:
                value = self.judge.rating(r)
                answer[str(r.id)] = value
                for name, f in form.fields.items():
                    if name.startswith(f"rating_{r.id}_"):
                        data[name] = str(_scale(value, f))
        elif kind == "ranking":
            order = self.judge.ranking(responses)
            answer["ranking"] = order
            for rank, rid in enumerate(order, start=1):
                data[f"rank_{rid}"] = str(rank)
        elif kind == "edit":
            data["edited_text"] = (form.fields.get("edited_text") or pages.Field("", "")).value + (
                "\n\nI hope this helps."
            )
        elif kind == "critique":
            data["critique"] = "The answer could be clearer and more specific."
        else:
            return {}, None
        data["time_spent_ms"] = str(self.rng.randint(3000, 30000))
        aid = int(re.search(r"/tasks/(\d+)/submit/", form.action).group(1))  # type: ignore[union-attr]
        label = Label(self.result.person.index, aid, kind, ids, answer)
        return data, label

    def run(self) -> PersonResult:
        try:
            self.sign_up_or_log_in()
            if self.gate is not None:
                # Everyone logs in first; the timed window starts for all at once.
                with contextlib.suppress(threading.BrokenBarrierError):
                    self.gate.wait(timeout=600)
                self.past_gate = True
                self.deadline = time.monotonic() + self.duration_s
            page = self.follow(self.request("GET", f"/c/{self.slug}/"))
            done_checks = 0
            while time.monotonic() < self.deadline and not self._too_many_errors():
                path = urlsplit(str(page.url)).path
                if any(m in path for m in DONE_MARKERS) or page.headers.get(
                    "HX-Push-Url", ""
                ).endswith("/done/"):
                    # "Done" can be premature under concurrency: the lease query skips
                    # items other people hold locked at that instant (SKIP LOCKED), so a
                    # person near the end may be told "done" while an item is still open
                    # to them. Like a person reloading, ask again before leaving.
                    if done_checks < 2:
                        done_checks += 1
                        time.sleep(0.3)
                        page = self.follow(self.request("GET", f"/c/{self.slug}/"))
                        continue
                    self.result.finished = True
                    break
                done_checks = 0
                if "/consent/" in path:
                    page = self.consent(page)
                    continue
                if path.startswith("/profile/edit") or path.endswith("/screen/"):
                    page = self.profile(page)
                    continue
                forms = pages.parse_forms(page.text)
                task_form = pages.form_with(forms, action_part="/submit/")
                if task_form is None:
                    if page.status_code in (200, 403) and "/c/" in path:
                        self.result.finished = True  # not eligible / nothing to do
                        break
                    page = self.follow(self.request("GET", f"/c/{self.slug}/"))
                    if pages.form_with(pages.parse_forms(page.text), action_part="/submit/"):
                        continue
                    self.result.finished = True
                    break
                data, label = self.answer(page.text, task_form)
                if label is None:  # a task this simulator does not answer: give it back
                    skip = pages.form_with(forms, action_part="/skip/")
                    if skip is None:
                        break
                    page = self.follow(self.post_form(skip.action, {"reason": "simulated skip"}))
                    continue
                if self.think_s:
                    time.sleep(self.rng.uniform(0, 2 * self.think_s))
                response = self.post_form(task_form.action, data, htmx=self.htmx)
                if response.status_code < 400:
                    self.result.submitted.append(label.assignment_id)
                    self.result.submit_times.append((time.monotonic(), label.assignment_id))
                    self.result.labels.append(label)
                elif response.status_code == 422:
                    self.result.errors["invalid"] += 1
                page = self.follow(response)
                if self.htmx and page.status_code == 200 and "HX-Push-Url" in page.headers:
                    page = _with_url(page, page.headers["HX-Push-Url"], self.base)
        except Exception as exc:  # one person's failure must not stop the crowd
            if (
                self.gate is not None
                and not self.gate.broken
                and self.deadline > 3600 + (time.monotonic())
            ):
                self.gate.abort()  # failed before the start: do not keep the others waiting
            self.result.failure = f"{type(exc).__name__}: {exc}"[:300]
        finally:
            self.client.close()
        return self.result


def _scale(value: int, f: pages.Field) -> int:
    """A 1..7 judgment on the form's own scale (Likert radios or a 1..100 number)."""
    if f.kind == "radio" and f.options:
        return value
    try:
        low, high = int(f.attrs.get("min", 1)), int(f.attrs.get("max", 7))
    except ValueError:
        low, high = 1, 7
    return round(low + (value - 1) * (high - low) / 6)


def _with_url(response: httpx.Response, url: str, base: str) -> httpx.Response:
    """An htmx fragment response, re-addressed to the URL it pushed (for page logic)."""
    clone = httpx.Response(
        response.status_code,
        headers=response.headers,
        content=response.content,
        request=httpx.Request("GET", urljoin(base + "/", url)),
    )
    return clone


def run_crowd(
    *,
    base_url: str,
    campaign_slug: str,
    people: list[Person],
    config: CrowdConfig,
    lookup: ResponseLookup,
    duration_s: float,
    password: str = "sim-annotator-pass-2718",
    username_prefix: str = "sim-",
    htmx: bool = True,
    think_s: float = 0.0,
    retry_503: bool = True,
    log_in_first: bool = False,
    join_urls: Callable[[int], str] | None = None,  # person -> signed link, not sign-up
) -> RunResult:
    """Run every person concurrently (one thread each) until done or ``duration_s``.

    With ``log_in_first`` everybody signs in before the clock starts (load benchmarks:
    the window then measures the task loop only, not a login stampede).
    """
    started: list[float] = []
    gate = (
        threading.Barrier(len(people), action=lambda: started.append(time.perf_counter()))
        if log_in_first and people
        else None
    )
    deadline = time.monotonic() + (duration_s if gate is None else 10 * 3600)
    sessions = [
        Session(
            base_url=base_url,
            campaign_slug=campaign_slug,
            person=p,
            config=config,
            lookup=lookup,
            password=password,
            username_prefix=username_prefix,
            htmx=htmx,
            deadline=deadline,
            think_s=think_s,
            retry_503=retry_503,
            gate=gate,
            duration_s=duration_s,
            join_url=join_urls(p.index) if join_urls else "",
        )
        for p in people
    ]
    t0 = time.perf_counter()
    lock = threading.Lock()
    results: list[PersonResult] = []
    with ThreadPoolExecutor(max_workers=max(1, len(sessions))) as pool:
        for result in pool.map(lambda s: s.run(), sessions):
            with lock:
                results.append(result)
    t_start = started[0] if started else t0
    return RunResult(people=results, elapsed_s=time.perf_counter() - t_start)
