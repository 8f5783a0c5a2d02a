"""import_feedback on the real sparse-feedback sample, checked by an independent computation."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from annotate.models import Annotation, Annotator, Item, Prompt, Response
from tests.factories import CampaignFactory

pytestmark = pytest.mark.django_db

RATINGS = "sparse-feedback-ratings.csv"
RANKINGS = "sparse-feedback-rankings.csv"


def _independent_consistency(ratings_path: Path, rankings_path: Path) -> dict:
    """The study's definition, written from the data README with csv and dicts only."""
    first_rating: dict[tuple[str, str, str], int] = {}
    with open(ratings_path, newline="", encoding="utf-8") as fh:
        for instruction, inp, output, rating in csv.reader(fh):
            first_rating.setdefault((instruction, inp, output), int(rating))  # first counts
    seen = set()
    n = agree = 0
    confusion: dict[tuple[str, str], int] = {}
    with open(rankings_path, newline="", encoding="utf-8") as fh:
        for instruction, inp, out1, out2, ranking in csv.reader(fh):
            key = (instruction, inp, out1, out2)
            if key in seen:  # a repeated comparison counts once
                continue
            seen.add(key)
            r1 = first_rating.get((instruction, inp, out1))
            r2 = first_rating.get((instruction, inp, out2))
            if r1 is None or r2 is None:
                continue
            implied = "A" if r1 > r2 else "B" if r1 < r2 else "tie"
            judged = {"(a)": "A", "(b)": "B", "equal": "tie"}[ranking]
            n += 1
            agree += implied == judged
            confusion[(implied, judged)] = confusion.get((implied, judged), 0) + 1
    order = ["A", "tie", "B"]
    return {
        "n": n,
        "agree": agree,
        "rate": agree / n,
        "confusion": [[confusion.get((i, j), 0) for j in order] for i in order],
    }


def _rows(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def _analytics_json(slug: str) -> dict:
    out = io.StringIO()
    call_command("analytics", "--campaign", slug, "--json", stdout=out)
    return json.loads(out.getvalue())


def test_import_real_sparse_feedback_and_consistency_matches_independent_count(shared_data):
    campaign = CampaignFactory(
        slug="peering", rating_attributes=["helpfulness"], overall_attribute="helpfulness"
    )
    ratings, rankings = shared_data / RATINGS, shared_data / RANKINGS
    out = io.StringIO()
    call_command(
        "import_feedback",
        "--campaign",
        "peering",
        "--format",
        "sparse-feedback",
        "--ratings",
        str(ratings),
        "--rankings",
        str(rankings),
        stdout=out,
    )
    assert "imported 99 ratings and 118 comparisons" in out.getvalue()

    rating_rows, ranking_rows = _rows(ratings), _rows(rankings)
    n_rating_rows, n_ranking_rows = len(rating_rows), len(ranking_rows)
    labels = Annotation.objects.filter(campaign=campaign)
    assert labels.filter(task_type="rating").count() == n_rating_rows
    assert labels.filter(task_type="pairwise").count() == n_ranking_rows
    # One annotator stands for the source; it cannot log in.
    (source,) = Annotator.objects.filter(annotations__campaign=campaign).distinct()
    assert not source.user.is_active and not source.user.has_usable_password()
    # Responses matched by text: a rated text and a compared text share one Response.
    first = labels.filter(task_type="pairwise").order_by("id").first()
    assert first is not None
    a_id = first.payload["response_ids"][0]
    rated_ids = {int(k) for a in labels.filter(task_type="rating") for k in a.payload["ratings"]}
    assert a_id in rated_ids
    assert Prompt.objects.filter(campaign=campaign).count() == len(
        {(r[0], r[1]) for r in rating_rows} | {(r[0], r[1]) for r in ranking_rows}
    )
    assert Item.objects.filter(campaign=campaign, n_submitted=1).count() == labels.count()

    expected = _independent_consistency(ratings, rankings)
    report = _analytics_json("peering")
    within = report["consistency"]["within_annotator"]
    assert within["n_pairs"] == expected["n"]
    assert within["n_agree"] == expected["agree"]
    assert within["rate"] == pytest.approx(expected["rate"], abs=1e-12)
    assert within["confusion"] == expected["confusion"]
    assert report["n_labels"] == n_rating_rows + n_ranking_rows
    # A single source: nothing to compare across people, so no kappa pairs.
    assert report["agreement"]["pairwise"]["cohen_kappa"]["n_annotator_pairs"] == 0
    # Two texts were rated twice with different ratings: self-consistency sees them.
    (row,) = report["annotators"]
    assert row["self_n"] >= 2 and row["consistency_n"] == expected["n"]

    with pytest.raises(CommandError, match="already imported"):
        call_command(
            "import_feedback",
            "--campaign",
            "peering",
            "--format",
            "sparse-feedback",
            "--ratings",
            str(ratings),
            "--rankings",
            str(rankings),
        )
    assert Annotation.objects.filter(campaign=campaign).count() == labels.count()


def _write(tmp_path: Path, name: str, rows: list[list[str]]) -> Path:
    path = tmp_path / name
    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    return path


GOOD_RATINGS = [["Say hi", "", "hi", "5"], ["Say hi", "", "hello", "3"]]
GOOD_RANKINGS = [["Say hi", "", "hi", "hello", "(a)"], ["Say hi", "", "hi", "hi", "equal"]]


def _run(slug: str, ratings: Path, rankings: Path) -> str:
    out = io.StringIO()
    call_command(
        "import_feedback",
        "--campaign",
        slug,
        "--format",
        "sparse-feedback",
        "--ratings",
        str(ratings),
        "--rankings",
        str(rankings),
        stdout=out,
    )
    return out.getvalue()


def test_small_import_self_comparison_and_consistency(tmp_path):
    CampaignFactory(slug="tiny")
    _run("tiny", _write(tmp_path, "r.csv", GOOD_RATINGS), _write(tmp_path, "k.csv", GOOD_RANKINGS))
    # "hi" compared with itself needs a twin response with the same text.
    assert Response.objects.filter(prompt__campaign__slug="tiny", text="hi").count() == 2
    within = _analytics_json("tiny")["consistency"]["within_annotator"]
    # 5 > 3 implies A, judged A; hi vs hi is a tie by the same (first) rating: both agree.
    assert (within["n_pairs"], within["n_agree"]) == (2, 2)


@pytest.mark.parametrize(
    ("ratings", "rankings", "message"),
    [
        ([["a", "", "x"]], GOOD_RANKINGS, "expected 4 columns"),
        (
            [["instruction", "input", "output", "rating"], *GOOD_RATINGS],
            GOOD_RANKINGS,
            "must not have a header",
        ),
        (GOOD_RATINGS, [["Say hi", "", "hi", "hello", "(c)"]], "not one of"),
        ([["Say hi", "", "hi", "9"]], GOOD_RANKINGS, "between 1 and 7"),
        (GOOD_RATINGS, [["Say hi", "", "", "hello", "(a)"]], "must not be empty"),
    ],
)
def test_bad_files_give_clear_errors_and_write_nothing(tmp_path, ratings, rankings, message):
    CampaignFactory(slug="bad")
    with pytest.raises(CommandError, match=message):
        _run("bad", _write(tmp_path, "r.csv", ratings), _write(tmp_path, "k.csv", rankings))
    assert not Annotation.objects.exists() and not Prompt.objects.exists()


def test_missing_file_and_unknown_campaign(tmp_path):
    CampaignFactory(slug="here")
    good = _write(tmp_path, "k.csv", GOOD_RANKINGS)
    with pytest.raises(CommandError, match="does not exist"):
        _run("here", tmp_path / "nope.csv", good)
    with pytest.raises(CommandError, match="no campaign"):
        _run("absent", good, good)
    with pytest.raises(CommandError, match="no campaign"):
        call_command("analytics", "--campaign", "absent", "--json")
