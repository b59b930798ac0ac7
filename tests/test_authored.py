"""The letters written for the project (``data/authored``: both layouts, page furniture,
double spacing, vocabulary the shared corpus barely has) parse to their gold structure.

These letters ship with the repository, so this runs in a user's clone too."""
from __future__ import annotations

from pathlib import Path

import pytest

from imr_nlp.evaluate import evaluate, read_gold

from conftest import ROOT

AUTHORED = ROOT / "data" / "authored"


# gold file, letter folder, disputed items, upheld items' gold reason labels
BATCHES = {"first": ("gold.jsonl", "letters", 42, 54), "second": ("gold2.jsonl", "letters2", 41, 54),
           "third": ("gold3.jsonl", "letters3", 62, 68)}


@pytest.fixture(scope="module", params=sorted(BATCHES))
def batch(request):
    gold, folder, items, reasons = BATCHES[request.param]
    return AUTHORED / gold, AUTHORED / folder, (items, reasons), evaluate(AUTHORED / gold, AUTHORED / folder)


def test_every_authored_letter_has_a_gold_record(batch):
    gold, folder, _items, _result = batch
    cases = {r["case_number"] for r in read_gold(gold)}
    files = {p.stem for p in folder.glob("*.txt")}
    assert cases == files and len(cases) == 16
    # both layouts are there: the 2013-14 one with items in capitals
    texts = {p.stem: p.read_text(encoding="utf8") for p in folder.glob("*.txt")}
    assert sum("State(s) of Licensure" in t for t in texts.values()) == 8
    assert sum("is Board Certified in" in t for t in texts.values()) == 8


def test_header_items_and_decisions_as_in_the_gold(batch):
    _gold, _folder, (n_items, _reasons), result = batch
    assert result["letters"] == 16
    assert result["header_fields_accuracy"] == 1.0
    items = result["items"]
    assert items["found"] == items["gold"] == items["predicted"] == n_items
    assert result["decision_accuracy"] == 1.0
    assert result["item_fields_accuracy"]["drugs"] == 1.0


def test_reasons_only_for_upheld_items(batch):
    # scored on the upheld items only; every overturned item has none (see test_parse), and the
    # reasons found agree with the writers' labels on most upheld items
    (_items, n_reasons), result = batch[2], batch[3]
    assert result["reasons_micro"]["support"] == n_reasons
    assert result["reasons_micro"]["f1"] > 0.7


def test_mentions_across_page_breaks_and_line_end_hyphens():
    """A page footer and running header between two pages, and a word hyphenated at a line end,
    do not split or hide a mention (the writers put both into these letters on purpose)."""
    import imr_nlp

    text = (AUTHORED / "letters" / "CM17-0900301.txt").read_text(encoding="utf8")
    assert "gabapen-\n" in text and "Page 1 of 4" in text
    letter = imr_nlp.parse(text)
    drugs = {m.lower() for m in letter.entity_mentions()["DRUG"]}
    assert {"gabapentin", "norco", "cyclobenzaprine", "omeprazole"} <= drugs
    assert all("Page" not in i.text for i in letter.items)
