"""The scorer, on records made for the test, and the gold file's validity."""
from __future__ import annotations

import copy
import json

import pytest

from imr_nlp.evaluate import (REASON_LABELS, GoldFileError, norm_document, read_gold, score)

from conftest import GOLD

RECORD = {
    "case_number": "CM99-0000001",
    "header": {"date_assigned": "2017-01-04", "date_of_injury": "2014-06-15", "decision_date": "2017-02-10",
               "ur_denial_date": "2016-12-20", "priority": "Standard", "application_received": "2017-01-02"},
    "reviewer": {"licensure": ["California"], "specialty": ["Pain Management"]},
    "patient": {"age": 52, "sex": "female"},
    "entities": {"DRUG": ["Norco"], "DOSE": ["10/325mg"], "TREATMENT": ["physical therapy"],
                 "BODY_PART": ["left knee"], "DIAGNOSIS": ["lumbar radiculopathy"], "GUIDELINE": ["MTUS"]},
    "items": [{"text": "Norco 10/325mg #90", "decision": "upheld", "treatment": None, "drugs": ["Norco"],
               "dose": "10/325mg", "quantity": "#90",
               "claims_administrator_guidelines": [{"source": "MTUS", "document": "Chronic Pain Medical Treatment",
                                                    "year": 2016, "sections": []}],
               "reviewer_guidelines": [{"source": "ODG", "document": "Pain Chapter", "year": None, "sections": []}],
               "denial_reasons": ["no_functional_improvement", "criteria_not_met"]}],
}


def test_perfect_prediction_scores_one():
    result = score([(RECORD, RECORD)])
    assert result["header_fields_accuracy"] == 1.0
    assert result["items"]["recall"] == 1.0 and result["decision_accuracy"] == 1.0
    assert result["citations"]["f1"] == 1.0
    assert all(v["f1"] == 1.0 for v in result["entities_exact"].values())
    assert result["reasons_micro"]["f1"] == 1.0
    assert result["item_fields_accuracy"] == {k: 1.0 for k in ("text", "treatment", "drugs", "dose", "quantity")}


def test_errors_are_counted():
    pred = copy.deepcopy(RECORD)
    pred["header"]["decision_date"] = "2017-02-11"
    pred["items"][0]["decision"] = "overturned"
    pred["items"][0]["reviewer_guidelines"][0]["document"] = "Low Back"
    pred["items"][0]["denial_reasons"] = ["no_functional_improvement"]
    pred["entities"]["BODY_PART"] = ["knee"]
    pred["items"][0]["quantity"] = "#60"
    pred["items"][0]["drugs"] = ["norco"]  # case folded, as entity mentions are
    result = score([(pred, RECORD)])
    assert result["item_fields_accuracy"]["quantity"] == 0.0
    assert result["item_fields_accuracy"]["drugs"] == 1.0
    assert result["header_accuracy"]["decision_date"] == 0.0
    assert result["decision_accuracy"] == 0.0
    assert result["citations"]["f1"] == pytest.approx(0.5)
    assert result["entities_exact"]["BODY_PART"]["f1"] == 0.0
    assert result["entities_overlap"]["BODY_PART"]["f1"] == 1.0  # "knee" overlaps "left knee"
    assert result["reasons"]["criteria_not_met"]["recall"] == 0.0
    assert result["reasons"]["no_functional_improvement"]["f1"] == 1.0


def test_document_names_fold_generic_words():
    assert norm_document("Low Back Chapter") == norm_document("low back")
    assert norm_document("Knee & Leg") == norm_document("Knee and Leg")
    assert norm_document("Shoulder") != norm_document("Low Back")


def test_bad_gold_line_is_named(tmp_path):
    path = tmp_path / "gold.jsonl"
    path.write_text(json.dumps(RECORD) + "\n{not json\n")
    with pytest.raises(GoldFileError, match="gold.jsonl:2"):
        read_gold(path)


def test_repository_gold_is_valid(shared):
    records = read_gold(GOLD)
    assert len(records) == 128
    corpus = shared / "corpus" / "dwc-imr-2017" / "txt"
    for r in records:
        assert (corpus / f"{r['case_number']}.txt").exists()
        for item in r["items"]:
            assert item["decision"] in ("upheld", "overturned")
            assert set(item["denial_reasons"]) <= set(REASON_LABELS)
            assert (item["decision"] == "overturned") == (item["denial_reasons"] == [])
            for c in item["claims_administrator_guidelines"] + item["reviewer_guidelines"]:
                assert c["source"] in ("MTUS", "ODG", "ACOEM", "OTHER")
        assert set(r["entities"]) == {"DRUG", "DOSE", "TREATMENT", "BODY_PART", "DIAGNOSIS", "GUIDELINE"}


def test_blind_reads_match_the_gold_letters_item_for_item():
    """The independent reads behind benchmarks/annotator_agreement.py: same letters, same items
    and decisions as the gold (only the judgement calls may differ), valid labels."""
    blind = read_gold(GOLD.parent.parent / "agreement" / "blind_reads.jsonl")
    gold = {r["case_number"]: r for r in read_gold(GOLD)}
    assert len(blind) == 36
    for r in blind:
        g = gold[r["case_number"]]
        assert set(r["entities"]) == set(g["entities"])
        assert [i["decision"] for i in r["items"]] == [i["decision"] for i in g["items"]]
        for item in r["items"]:
            assert set(item["denial_reasons"]) <= set(REASON_LABELS)
            assert (item["decision"] == "overturned") == (item["denial_reasons"] == [])
