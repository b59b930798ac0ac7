"""Every letter of the shared corpus parses, in all three layouts, to the gold item count."""
from __future__ import annotations

import re

import pytest

import imr_nlp

from conftest import CORPUS, SEEDS

HEADER_DATES = ("date_assigned", "date_of_injury", "decision_date", "ur_denial_date", "application_received")


def decision_lines(text: str) -> int:
    """Decision lines counted independently of the parser: ': Upheld' / ': Overturned' at a line end,
    allowing the decision word to wrap onto the next line."""
    return len(re.findall(r":\s*(?:Upheld|Overturned)[ \t]*(?=\n|\f|$)", text))


@pytest.mark.parametrize("layout", ["txt", "txt_raw", "pdf"])
def test_whole_corpus_parses(shared, gold_records, layout):
    files = sorted((CORPUS / layout).iterdir())
    assert len(files) == 128
    problems = []
    for path in files:
        letter = imr_nlp.parse(path)
        gold = gold_records[path.stem]
        text = letter.text
        if len(letter.items) != len(gold["items"]) or len(letter.items) != decision_lines(text):
            problems.append(f"{path.name}: {len(letter.items)} items, {decision_lines(text)} decision lines, "
                            f"gold {len(gold['items'])}")
        if any(i.decision not in ("upheld", "overturned") for i in letter.items):
            problems.append(f"{path.name}: bad decision")
        if letter.case_number != path.stem:
            problems.append(f"{path.name}: case number {letter.case_number}")
        for field in HEADER_DATES:
            if getattr(letter, field) is None:
                problems.append(f"{path.name}: no {field}")
        if letter.priority is None:
            problems.append(f"{path.name}: no priority")
    assert problems == []


def test_seeds_parse(shared):
    for path in sorted(SEEDS.glob("*.txt")):
        letter = imr_nlp.parse(path)
        assert len(letter.items) == decision_lines(letter.text) == 1
        assert letter.date_of_injury is not None and letter.ur_denial_date is not None
