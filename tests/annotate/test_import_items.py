"""``manage.py import_items`` end to end on PostgreSQL."""

from __future__ import annotations

import gzip
import json
import re
from io import StringIO
from pathlib import Path
from typing import Any, cast

import pytest
from django.core.management import CommandError, call_command

from annotate.importers import ParsedRow, parser_for, read_rows
from annotate.models import Campaign, Conversation, Item, ItemResponse, Prompt, Response, Turn
from annotate.services import imports as imports_service
from annotate.services.imports import item_spec_from_row
from tests.factories import CampaignFactory

HH_FILE = "hh-rlhf-harmless-base-test.jsonl.gz"
pytestmark = pytest.mark.django_db


def new_campaign(**fields: Any) -> Campaign:
    return cast(Campaign, CampaignFactory(**fields))


def prompt_of(item: Item) -> Prompt:
    assert item.prompt is not None
    return item.prompt


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("import_items", *args, "--no-progress", stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def run_failing(*args: str) -> tuple[str, str]:
    err = StringIO()
    with pytest.raises(CommandError) as info:
        call_command("import_items", *args, "--no-progress", stdout=StringIO(), stderr=err)
    return str(info.value), err.getvalue()


def hh_line(question: str, good: str, bad: str) -> str:
    prefix = f"\n\nHuman: {question}"
    return json.dumps(
        {"chosen": f"{prefix}\n\nAssistant: {good}", "rejected": f"{prefix}\n\nAssistant: {bad}"}
    )


def write(path: Path, lines: list[str], *, compress: bool = False) -> Path:
    data = ("\n".join(lines) + "\n").encode()
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


def nothing_written() -> bool:
    return not any(
        m.objects.exists() for m in (Item, Prompt, Response, Conversation, Turn, ItemResponse)
    )


def independent_parse(transcript: str) -> tuple[list[dict[str, str]], str]:
    """A second reading of an HH-RLHF transcript, written apart from the importer."""
    pieces = re.split(r"\n\n(Human|Assistant): ", transcript)
    turns = [(pieces[i], pieces[i + 1].strip()) for i in range(1, len(pieces), 2)]
    assert turns[-1][0] == "Assistant"
    roles = {"Human": "user", "Assistant": "assistant"}
    return [{"role": roles[r], "content": t} for r, t in turns[:-1]], turns[-1][1]


def test_real_hh_rlhf_file_imports_every_pair(shared_data: Path):
    campaign = new_campaign(overlap=3)
    out, _ = run("--campaign", campaign.slug, "--format", "hh-rlhf", str(shared_data / HH_FILE))
    with gzip.open(shared_data / HH_FILE, "rt", encoding="utf-8") as handle:
        raw = [json.loads(line) for line in handle]
    assert len(raw) == 2312
    assert f"rows read: {len(raw)}, items created: {len(raw)}" in out
    assert "rows rejected: 0" in out
    items = Item.objects.filter(campaign=campaign)
    assert items.count() == len(raw)
    assert set(items.values_list("task_type", flat=True)) == {"pairwise"}
    assert set(items.values_list("overlap", flat=True)) == {3}
    assert ItemResponse.objects.filter(item__campaign=campaign).count() == 2 * len(raw)

    # Check well-formed rows (first, last, longest context) against the raw JSON.
    simple = [
        n
        for n, r in enumerate(raw)
        if r["chosen"].count("\n\nAssistant:") == r["rejected"].count("\n\nAssistant:")
    ]
    longest = max(simple, key=lambda n: raw[n]["chosen"].count("\n\nHuman:"))
    for n in {0, len(raw) - 1, longest}:
        messages, chosen = independent_parse(raw[n]["chosen"])
        _, rejected = independent_parse(raw[n]["rejected"])
        item = items.get(metadata__import__line=n + 1)
        prompt = prompt_of(item)
        assert prompt.messages == messages
        assert prompt.text == messages[-1]["content"]
        turns = list(Turn.objects.filter(conversation=prompt.conversation).order_by("depth"))
        assert [t.text for t in turns] == [m["content"] for m in messages]
        assert prompt.turn_id == turns[-1].pk
        links = list(ItemResponse.objects.filter(item=item).select_related("response"))
        by_source = {link.response.source: link for link in links}
        assert by_source["hh-rlhf:chosen"].response.text == chosen
        assert by_source["hh-rlhf:rejected"].response.text == rejected
        assert by_source["hh-rlhf:chosen"].response.metadata["reference_label"] == "chosen"
        reference = item.metadata["reference_preference"]
        assert reference["chosen_position"] == by_source["hh-rlhf:chosen"].position

    # The harmless split has rows whose preferred reply is empty: they are kept.
    empty_chosen = sum(1 for r in raw if independent_parse(r["chosen"])[1] == "")
    assert (
        Response.objects.filter(prompt__campaign=campaign, source="hh-rlhf:chosen", text="").count()
        == empty_chosen
    )
    # Both layouts occur, so position 0 is not a label.
    positions = {i.metadata["reference_preference"]["chosen_position"] for i in items[:200]}
    assert positions == {0, 1}

    # Re-running the same import adds nothing.
    out, _ = run("--campaign", campaign.slug, "--format", "hh-rlhf", str(shared_data / HH_FILE))
    assert "items created: 0, already imported: 2312" in out
    assert items.count() == len(raw)


BAD_HH = [
    hh_line("How do I boil an egg?", "Simmer it for eight minutes.", "Eggs are round."),
    "{this is not json",
    json.dumps({"chosen": "\n\nHuman: hi\n\nAssistant: hello"}),
    hh_line("Is the sea salty?", "Yes, mostly sodium chloride.", "No."),
    json.dumps({"chosen": "Hi!\n\nAssistant: hello", "rejected": "Hi!\n\nAssistant: hey"}),
    hh_line("Same?", "Identical.", "Identical."),
    json.dumps(
        {
            "chosen": "\n\nHuman: a\n\nAssistant: b\n\nHuman: c\n\nAssistant: d",
            "rejected": "\n\nHuman: a\n\nAssistant: X\n\nHuman: c\n\nAssistant: e",
        }
    ),
]


def test_bad_lines_are_reported_and_nothing_is_written(tmp_path: Path):
    campaign = new_campaign()
    path = write(tmp_path / "bad.jsonl", BAD_HH)
    message, err = run_failing("--campaign", campaign.slug, "--format", "hh-rlhf", str(path))
    assert "5 of 7 rows rejected" in message
    assert "nothing imported" in message
    assert "line 2: invalid JSON" in err
    assert "line 3: missing field 'rejected'" in err
    assert "line 5: 'chosen' transcript does not start" in err
    assert "line 6: 'chosen' and 'rejected' end with the same reply" in err
    assert "line 7: 'chosen' and 'rejected' differ before the final reply (turn 2)" in err
    assert "line 1:" not in err and "line 4:" not in err
    assert nothing_written()


def test_skip_bad_imports_good_rows_and_reports_the_rest(tmp_path: Path):
    campaign = new_campaign()
    path = write(tmp_path / "bad.jsonl", BAD_HH)
    report = tmp_path / "report.json"
    out, err = run(
        "--campaign", campaign.slug, "--format", "hh-rlhf", str(path), "--skip-bad",
        "--report", str(report),
    )  # fmt: skip
    assert "rows read: 7, items created: 2, already imported: 0, rows rejected: 5" in out
    assert "rejected lines: 2, 3, 5, 6, 7" in err
    assert sorted(Prompt.objects.values_list("text", flat=True)) == [
        "How do I boil an egg?",
        "Is the sea salty?",
    ]
    saved = json.loads(report.read_text())
    assert [r["line"] for r in saved["rejected"]] == [2, 3, 5, 6, 7]
    assert saved["rows_read"] == 7


def test_gzip_and_plain_give_the_same_items(tmp_path: Path):
    lines = [hh_line(f"Question {n}?", f"Good answer {n}.", f"Bad answer {n}.") for n in range(5)]
    results = []
    for compress in (False, True):
        campaign = new_campaign()
        path = write(tmp_path / f"data-{compress}.jsonl", lines, compress=compress)
        out, _ = run("--campaign", campaign.slug, "--format", "hh-rlhf", str(path))
        assert "items created: 5" in out
        results.append(
            sorted(
                (prompt_of(i).text, i.metadata["reference_preference"]["chosen_position"])
                for i in Item.objects.filter(campaign=campaign).select_related("prompt")
            )
        )
    assert results[0] == results[1]


def test_generic_jsonl(tmp_path: Path):
    campaign = new_campaign()
    lines = [
        json.dumps({"id": "p1", "prompt": "Name a fruit.", "responses": ["Apple.", "Stone."]}),
        json.dumps(
            {
                "id": "p2",
                "prompt": [
                    {"role": "system", "content": "Answer in one word."},
                    {"role": "user", "content": "Capital of France?"},
                ],
                "responses": [
                    {"text": "Paris.", "model": "m-large"},
                    {"text": "Lyon.", "source": "baseline"},
                    {"text": "France.", "source": "baseline"},
                ],
                "task_type": "ranking",
                "metadata": {"topic": "geography"},
            }
        ),
        json.dumps({"prompt": "Write a haiku.", "responses": ["Autumn moon rises"]}),
    ]
    path = write(tmp_path / "items.jsonl", lines)
    out, _ = run("--campaign", campaign.slug, "--format", "jsonl", str(path))
    assert "rows read: 3, items created: 3" in out
    p1 = Item.objects.get(prompt__external_id="p1")
    assert p1.task_type == "pairwise"
    assert prompt_of(p1).messages == [{"role": "user", "content": "Name a fruit."}]
    p2 = Item.objects.get(prompt__external_id="p2")
    assert p2.task_type == "ranking"
    assert p2.metadata["topic"] == "geography"
    assert prompt_of(p2).messages[0] == {"role": "system", "content": "Answer in one word."}
    ordered = [
        (link.response.text, link.response.source)
        for link in ItemResponse.objects.filter(item=p2).select_related("response")
    ]
    assert ordered == [("Paris.", "m-large"), ("Lyon.", "baseline"), ("France.", "baseline")]
    assert Response.objects.get(text="Paris.").metadata == {"model": "m-large"}
    haiku = Item.objects.get(prompt__text="Write a haiku.")
    assert haiku.task_type == "rating"
    assert prompt_of(haiku).external_id.startswith("jsonl:")


def test_generic_jsonl_task_type_option_and_item_spec_errors(tmp_path: Path):
    campaign = new_campaign()
    lines = [
        json.dumps({"prompt": "Q1", "responses": ["a"]}),
        json.dumps({"prompt": "Q2", "responses": ["a", "b", "c"]}),
        json.dumps({"prompt": "Q3", "responses": ["a", ""]}),
        json.dumps({"prompt": "Q4", "responses": ["a", "b"], "task_type": "rating"}),
    ]
    path = write(tmp_path / "items.jsonl", lines)
    message, err = run_failing(
        "--campaign", campaign.slug, "--format", "jsonl", "--task-type", "edit", str(path)
    )
    # edit shows exactly one response: lines 2 and 3 fail; a line's own type wins.
    assert "line 2: a edit item needs 1 responses, got 3" in err
    assert "line 3: response 2 is empty" in err
    assert "lines 2, 3" in message
    assert nothing_written()
    run(
        "--campaign", campaign.slug, "--format", "jsonl", "--task-type", "edit", str(path),
        "--skip-bad",
    )  # fmt: skip
    assert dict(Item.objects.values_list("prompt__text", "task_type")) == {
        "Q1": "edit",
        "Q4": "rating",
    }


def test_missing_campaign_is_a_clear_error_and_create_makes_it(tmp_path: Path):
    path = write(tmp_path / "one.jsonl", [hh_line("Hi?", "Hello.", "Go away.")])
    message, _ = run_failing("--campaign", "nope", "--format", "hh-rlhf", str(path))
    assert "no campaign with slug 'nope'" in message and "--create" in message
    out, _ = run("--campaign", "new-study", "--create", "--format", "hh-rlhf", str(path))
    campaign = Campaign.objects.get(slug="new-study")
    assert campaign.task_mix == {"pairwise": 1}
    assert campaign.items.count() == 1
    assert "created campaign 'new-study'" in out


def test_dry_run_limit_and_unreadable_files(tmp_path: Path):
    campaign = new_campaign()
    lines = [hh_line(f"Q{n}?", f"Yes {n}.", f"No {n}.") for n in range(6)]
    path = write(tmp_path / "six.jsonl", lines)
    out, _ = run("--campaign", campaign.slug, "--format", "hh-rlhf", str(path), "--dry-run")
    assert "rows read: 6, would create: 6" in out
    assert nothing_written()
    out, _ = run("--campaign", campaign.slug, "--format", "hh-rlhf", str(path), "--limit", "4")
    assert "rows read: 4, items created: 4" in out
    truncated = tmp_path / "cut.jsonl.gz"
    truncated.write_bytes(gzip.compress(path.read_bytes())[:-30])
    message, _ = run_failing("--campaign", campaign.slug, "--format", "hh-rlhf", str(truncated))
    assert "cannot read the file" in message
    message, _ = run_failing("--campaign", campaign.slug, "--format", "hh-rlhf", "missing.jsonl")
    assert "no such file" in message
    assert Item.objects.count() == 4


def test_a_failure_while_writing_leaves_nothing(tmp_path: Path, monkeypatch):
    campaign = new_campaign()
    lines = [hh_line(f"Q{n}?", f"Yes {n}.", f"No {n}.") for n in range(12)]
    path = write(tmp_path / "twelve.jsonl", lines)
    real_items_add = imports_service.items_add
    calls = []

    def failing_items_add(**kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("disk full")
        return real_items_add(**kwargs)

    monkeypatch.setattr(imports_service, "items_add", failing_items_add)
    rows = list(read_rows(path, parser_for("hh-rlhf")))
    specs = [item_spec_from_row(r) for r in rows if isinstance(r, ParsedRow)]
    with pytest.raises(RuntimeError, match="disk full"):
        imports_service.items_import(campaign=campaign, specs=specs, batch_size=5)
    assert len(calls) == 3
    assert nothing_written()
