"""Parse a judge model's free-text answer into a constrained label; a total function.

Judges are asked for one of A, B or tie (pairwise) or an integer in a range (rating).
Models still wrap answers in prose, markdown or brackets, so parsing is lenient about
form and strict about content: exactly one admissible answer must be found, or the
output gets a status saying why not. ``parse_judgment`` never raises, whatever it is
given (None, bytes, a number, a megabyte of text); unparsable outputs are stored and
counted by the caller, never guessed.

Statuses: ``ok``; ``empty`` (nothing but whitespace/markup); ``ambiguous`` (two different
admissible answers, e.g. "A or B"); ``out_of_range`` (an integer outside [low, high], or a
tie where ties are not allowed); ``unparsable`` (nothing admissible found).

Pairwise order of precedence (the first rule that finds something decides):
1. a bracketed verdict, MT-Bench style: [[A]], [[B]], [[C]] or [[tie]];
2. a labelled verdict: "answer:", "verdict:", "winner:", "choice:", "preferred:",
   "better:" followed by the answer (the last such label wins: judges that reason first
   put the decision last);
3. the whole answer (after stripping markup) is one answer word: "A", "(b)", "Tie.";
4. the first token is A or B followed by punctuation ("B) because ..."), or the text
   starts with "response/assistant/output/answer A";
5. mentions anywhere: "response A", "assistant B", "(A)", and tie words ("tie",
   "equally good", "both are equal", "neither is better", "draw"); exactly one kind
   must be mentioned, otherwise ``ambiguous``.
Rating: [[n]]; a labelled number ("rating:", "score:", "answer:", the last one);
"n/high" or "n out of high"; else the only number in the text (several distinct numbers:
``ambiguous``). A non-integer number ("4.5") is ``unparsable``; "4.0" is 4.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Status = Literal["ok", "empty", "unparsable", "ambiguous", "out_of_range"]
STATUSES: tuple[Status, ...] = ("ok", "empty", "unparsable", "ambiguous", "out_of_range")
PAIRWISE_ANSWERS = ("A", "B", "tie")
# Judge outputs are short; a runaway generation is cut before the regexes see it.
MAX_CHARS = 20_000


@dataclass(frozen=True)
class Parsed:
    status: Status
    answer: str | int | None = None  # "A" | "B" | "tie" (pairwise) or an int (rating)

    @property
    def ok(self) -> bool:
        return self.status == "ok"


_MARKUP = re.compile(r"[*_`#>\"\u201c\u201d]+")
_TIE_WORDS = r"(?:tie|tied|draw|equal|equally|same|neither|both)"
_BRACKET = re.compile(r"\[\[\s*([^\[\]]{1,12}?)\s*\]\]")
_LABELLED = re.compile(
    r"(?:final\s+answer|answer|verdict|winner|choice|preferred|preference|better|decision"
    r"|rating|score|grade)(?:\s+(?:response|answer|one|option|is))?"
    r"\s*(?:is|:|=|-|would\s+be)\s*(?:response|assistant|output|option)?\s*"
    r"\(?\s*([a-z0-9.]+)",
    re.IGNORECASE,
)
# A leading bare "A" is often the article ("A good answer ..."), and "Response A is fine
# but ..." is no verdict: a leading answer needs punctuation or "is better"/"wins" after it.
_LEADING = re.compile(
    r"^(?:(?:response|assistant|output|option)\s+)?\(?([ab])\)?"
    r"(?:$|[.,:;)!\-]|\s+(?:is\s+better|is\s+preferred|wins|>))",
    re.IGNORECASE,
)
_MENTION_AB = re.compile(
    r"(?:\b(?:response|assistant|output|option|answer|model)\s+\(?([ab])\b\)?)|\(([ab])\)",
    re.IGNORECASE,
)
_MENTION_TIE = re.compile(
    r"\b(?:it'?s\s+a\s+tie|a\s+tie|tie|tied|draw|equally\s+(?:good|bad|helpful|strong)"
    r"|both\s+(?:are\s+)?(?:equal|equally|the\s+same)|neither\s+is\s+better|no\s+preference)\b",
    re.IGNORECASE,
)
_NUMBER = re.compile(r"(?<![\w.])[-+]?\d+(?:\.\d+)?(?![\w])")
_OUT_OF = re.compile(r"([-+]?\d+(?:\.\d+)?)\s*(?:/|out\s+of)\s*\d+", re.IGNORECASE)


def _word(token: str) -> str | None:
    """One answer word to "A" / "B" / "tie", else None."""
    t = token.strip().strip(".,:;!?()[]{}").lower()
    if t in ("a", "response a", "assistant a", "output a"):
        return "A"
    if t in ("b", "response b", "assistant b", "output b"):
        return "B"
    if t == "c" or re.fullmatch(_TIE_WORDS, t) or t in ("it's a tie", "a tie"):
        return "tie"
    return None


def _decide_pairwise(found: str, allow_tie: bool) -> Parsed:
    if found == "tie" and not allow_tie:
        return Parsed("out_of_range", "tie")
    return Parsed("ok", found)


def _pairwise(text: str, allow_tie: bool) -> Parsed:
    brackets = {w for m in _BRACKET.finditer(text) if (w := _word(m.group(1)))}
    if len(brackets) == 1:
        return _decide_pairwise(brackets.pop(), allow_tie)
    if len(brackets) > 1:
        return Parsed("ambiguous")
    labelled = [w for m in _LABELLED.finditer(text) if (w := _word(m.group(1)))]
    if labelled:
        return _decide_pairwise(labelled[-1], allow_tie)
    whole = _word(text)
    if whole:
        return _decide_pairwise(whole, allow_tie)
    lead = _LEADING.match(text)
    if lead:
        return _decide_pairwise(lead.group(1).upper(), allow_tie)
    kinds = {(m.group(1) or m.group(2)).upper() for m in _MENTION_AB.finditer(text)}
    if _MENTION_TIE.search(text):
        kinds.add("tie")
    if len(kinds) == 1:
        return _decide_pairwise(kinds.pop(), allow_tie)
    return Parsed("ambiguous" if kinds else "unparsable")


def _integer(token: str) -> int | None:
    try:
        value = float(token)
    except ValueError:
        return None
    if value != value or value in (float("inf"), float("-inf")) or not value.is_integer():
        return None
    return int(value)


def _rating(text: str, low: int, high: int) -> Parsed:
    candidates: list[str] = []
    brackets = [m.group(1) for m in _BRACKET.finditer(text)]
    labelled = [
        x for m in _LABELLED.finditer(text) if _NUMBER.fullmatch(x := m.group(1).rstrip("."))
    ]
    out_of = [m.group(1) for m in _OUT_OF.finditer(text)]
    if brackets:
        candidates = sorted(set(brackets))
    elif labelled:
        candidates = [labelled[-1]]
    elif out_of:
        candidates = sorted(set(out_of))
    else:
        candidates = sorted(set(_NUMBER.findall(text)))
    if not candidates:
        return Parsed("unparsable")
    values = {_integer(c) for c in candidates}
    if None in values:
        return Parsed("unparsable") if len(values) == 1 else Parsed("ambiguous")
    if len(values) > 1:
        return Parsed("ambiguous")
    (value,) = values
    assert value is not None
    if not low <= value <= high:
        return Parsed("out_of_range", value)
    return Parsed("ok", value)


def parse_judgment(
    text: object,
    *,
    kind: Literal["pairwise", "rating"] = "pairwise",
    low: int = 1,
    high: int = 7,
    allow_tie: bool = True,
) -> Parsed:
    """The judge's answer in ``text`` (see the module docstring); never raises."""
    try:
        if isinstance(text, bytes):
            text = text.decode("utf-8", errors="replace")
        if not isinstance(text, str):
            return Parsed("unparsable")
        text = text[:MAX_CHARS].replace("\u2019", "'").replace("\u2018", "'")
        clean = _MARKUP.sub(" ", text).strip()
        if not clean:
            return Parsed("empty")
        if kind == "rating":
            return _rating(clean, low, high)
        return _pairwise(clean, allow_tie)
    except Exception:  # a parser bug must cost one label, never a judging job
        return Parsed("unparsable")
