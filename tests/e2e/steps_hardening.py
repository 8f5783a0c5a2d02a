"""Issue 13's step of the acceptance run: hostile input, the typed config, crowd links
with a secret, and signed webhooks from the real worker.

- ``webhooks_register``: a receiver (a real HTTP server in this test) is registered over
  REST for both campaigns; the servers allow 127.0.0.1 (``SERVER_ENV``), as an operator
  would for a receiver on the same machine.
- ``hostile_inputs``: against the live gunicorn: NUL in a query parameter, deep JSON,
  NaN, a typo config key, an out-of-range value, a crowd link without its signature:
  every one a 400/403 naming what is wrong, and nothing written. A signed link (from
  ``join-links/``) admits its participant.
- ``webhooks_received``: by the end of the study the worker has POSTed, signed with the
  webhook's secret: labels.received (every label of the study exactly once), export.ready
  (the researcher's background export), refit.finished and version.promoted.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx

from tests.e2e.harness import StudyServer
from tests.webhook_receiver import Receiver

# Environment of the study's servers (the receiver listens on 127.0.0.1).
SERVER_ENV = {
    "CHORUS_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.1/32",
    "CHORUS_WEBHOOK_LABELS_BATCH_S": "2",
    "CHORUS_WEBHOOK_RETRY_BASE_S": "1",
}


@dataclass
class Hooks:
    receiver: Receiver
    secrets: dict[str, str]  # campaign slug -> signing secret

    def stop(self) -> None:
        self.receiver.stop()


def webhooks_register(admin_api: httpx.Client, slugs: tuple[str, ...]) -> Hooks:
    receiver = Receiver().start()
    secrets = {}
    for slug in slugs:
        answer = admin_api.post(f"/campaigns/{slug}/webhooks/", json={"url": receiver.url})
        assert answer.status_code == 201, answer.text
        secrets[slug] = answer.json()["secret"]
    # A private address is refused at registration (SSRF), naming the URL.
    refused = admin_api.post(
        f"/campaigns/{slugs[0]}/webhooks/", json={"url": "http://169.254.169.254/latest"}
    )
    assert refused.status_code == 400 and "url" in refused.json(), refused.text
    return Hooks(receiver, secrets)


def _config(server: StudyServer, slug: str) -> str:
    return str(server.db.value(f"SELECT config FROM annotate_campaign WHERE slug = '{slug}'"))


def hostile_inputs(server: StudyServer, admin_api: httpx.Client, slug: str) -> None:
    web = httpx.Client(base_url=server.url, timeout=30)
    before = _config(server, slug)
    nul = admin_api.get("/grants/", params={"campaign": "a\x00b"})
    assert nul.status_code == 400 and "campaign" in nul.json(), nul.text
    page = web.get("/accounts/login/", params={"next": "/\x00"})
    assert page.status_code == 400 and "next" in page.text
    deep = admin_api.post(
        f"/campaigns/{slug}/items/add/",
        content=b"[" * 50_000 + b"]" * 50_000,
        headers={"Content-Type": "application/json"},
    )
    assert deep.status_code == 400 and "levels" in deep.json()["detail"], deep.text
    nan = admin_api.patch(
        f"/campaigns/{slug}/configure/",
        content=b'{"config": {"gold_rate": NaN}}',
        headers={"Content-Type": "application/json"},
    )
    assert nan.status_code == 400 and "gold_rate" in nan.text, nan.text
    typo = admin_api.patch(f"/campaigns/{slug}/configure/", json={"config": {"quotass": {}}})
    assert typo.status_code == 400, typo.text
    assert "did you mean 'quotas'" in typo.json()["config"]["quotass"][0]
    rate = admin_api.patch(f"/campaigns/{slug}/configure/", json={"config": {"gold_rate": 5}})
    assert rate.status_code == 400 and "gold_rate" in rate.json()["config"], rate.text
    assert _config(server, slug) == before  # nothing was written

    # A participant id alone is not a credential; the signed link is.
    bare = web.get(f"/join/{slug}/", params={"PROLIFIC_PID": "e2e-crowd-1", "STUDY_ID": "e2e"})
    assert bare.status_code == 403, bare.status_code
    links = admin_api.post(f"/campaigns/{slug}/join-links/", json={"participants": ["e2e-crowd-1"]})
    assert links.status_code == 200, links.text
    signed = web.get(links.json()[0]["url"])
    assert signed.status_code == 302 and f"/c/{slug}/" in signed.headers["Location"]
    crowd = server.db.value(
        "SELECT count(*) FROM annotate_annotator WHERE external_id = 'e2e-crowd-1'"
    )
    assert crowd == 1
    web.close()


def webhooks_received(
    server: StudyServer, hooks: Hooks, *, study: str, timeout: float
) -> dict[str, Any]:
    receiver = hooks.receiver
    for event in ("labels.received", "export.ready", "refit.finished", "version.promoted"):
        receiver.wait_for(event, timeout=timeout)
    for got in receiver.received:
        slug = got.json["campaign"]
        assert got.signed_by(hooks.secrets[slug]), f"bad signature on {got.event} of {slug}"
        assert got.headers["X-Chorus-Delivery"] == got.json["id"]
    # Every human label of the study was announced exactly once (the batches' cursor);
    # an AI judge's labels (step 8) are not "labels received" from people.
    labels = {
        row[0]
        for row in server.db.rows(
            "SELECT a.id FROM annotate_annotation a JOIN annotate_campaign c "
            f"ON c.id = a.campaign_id WHERE c.slug = '{study}' AND a.source = 'human'"
        )
    }
    announced: list[int] = []
    for got in receiver.received:
        if got.event == "labels.received" and got.json["campaign"] == study:
            announced += got.json["data"]["annotation_ids"]
    assert len(announced) == len(set(announced)), "a label was announced twice"
    assert set(announced) == labels, f"{len(labels - set(announced))} labels never announced"
    refits = {
        (g.json["data"]["kind"], g.json["data"]["status"])
        for g in receiver.received
        if g.event == "refit.finished"
    }
    assert {("reward", "succeeded"), ("dpo", "succeeded")} <= refits, refits
    promoted = {g.json["data"]["kind"] for g in receiver.received if g.event == "version.promoted"}
    assert promoted == {"reward", "dpo"}, promoted
    # The receiver answers before the worker records the delivery (its UPDATE follows
    # the HTTP reply), so the last one may still be on its way: wait for it, briefly.
    expected = len({g.json["id"] for g in receiver.received})
    deadline = time.monotonic() + 30
    while True:
        delivered = server.db.value(
            "SELECT count(*) FROM annotate_webhookdelivery WHERE status = 'delivered'"
        )
        if delivered >= expected or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert delivered >= expected, f"{delivered} deliveries recorded, {expected} received"
    return {"events": len(receiver.received), "labels_announced": len(announced)}
