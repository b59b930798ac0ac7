"""Guideline citation lines in the shapes IMR letters use (written for these tests)."""
from __future__ import annotations

import pytest

from imr_nlp.components.citations import parse_guideline, split_sections


def cites(text):
    return [(c["source"], c["document"], c["year"], c["sections"]) for c in parse_guideline(text)]


def test_no_evidence_cited():
    assert cites("The Claims Administrator did not cite any medical evidence for its decision.") == []


def test_mtus_with_sections_that_contain_commas():
    assert cites("Decision based on MTUS Chronic Pain Medical Treatment 2016, Section(s): Opioids, criteria "
                 "for use, Muscle relaxants (for pain).") == [
        ("MTUS", "Chronic Pain Medical Treatment", 2016, ["Opioids, criteria for use", "Muscle relaxants (for pain)"])]


def test_two_mtus_documents_in_one_statement():
    assert cites("Decision based on MTUS Ankle and Foot Complaints 2004, Section(s): Special Studies, and "
                 "Chronic Pain Medical Treatment 2016, Section(s): CRPS, diagnostic tests.") == [
        ("MTUS", "Ankle and Foot Complaints", 2004, ["Special Studies"]),
        ("MTUS", "Chronic Pain Medical Treatment", 2016, ["CRPS, diagnostic tests"])]


def test_document_name_with_commas_is_kept_whole():
    assert cites("Decision based on MTUS Forearm, Wrist, and Hand Complaints 2004.") == [
        ("MTUS", "Forearm, Wrist, and Hand Complaints", 2004, [])]


def test_acoem_chapter_in_2013_layout():
    assert cites("Decision based on MTUS ACOEM Chapter 9 Shoulder Complaints,Chronic Pain Treatment "
                 "Guidelines Post Surgical Treatment Guidelines.") == [
        ("MTUS", "Shoulder Complaints", None, []),
        ("MTUS", "Chronic Pain Treatment Guidelines", None, []),
        ("MTUS", "Post Surgical Treatment Guidelines", None, [])]


@pytest.mark.parametrize("text, expected", [
    ("The Expert Reviewer did not base their decision on the MTUS. Decision based on Non-MTUS Citation "
     "OFFICIAL DISABILITY GUIDELINES (ODG) LOW BACK - IONTOPHORESIS", [("ODG", "LOW BACK", None, ["IONTOPHORESIS"])]),
    ("Decision based on Non-MTUS Citation Official Disability Guidelines (ODG), Shoulder Chapter, "
     "Magnetic resonance imaging (MRI).", [("ODG", "Shoulder", None, ["Magnetic resonance imaging (MRI)"])]),
    ("Decision based on Non-MTUS Citation Official Disability Guidelines, Knee (updated 12/12/16), "
     "Physical therapy.", [("ODG", "Knee", None, ["Physical therapy"])]),
    ("Decision based on Non-MTUS Citation Official Disability Guidelines (ODG)", [("ODG", None, None, [])]),
    ("Decision based on Non-MTUS Citation ODG Guidelines, 14th Edition, 2016, Knee Chapter.",
     [("ODG", "Knee", 2016, [])]),
    ("Decision based on Non-MTUS Citation Official Disability Guidelines (ODG) Low back, Manipulation; Neck "
     "and Upper back, Manipulation.", [("ODG", "Low back", None, ["Manipulation"]),
                                      ("ODG", "Neck and Upper back", None, ["Manipulation"])]),
    ("Decision based on Non-MTUS Citation Official Disability Guidelines, Neck and Upper Back Chapter, "
     "Shoulder Chapter, Physical therapy.", [("ODG", "Neck and Upper Back", None, ["Physical therapy"]),
                                            ("ODG", "Shoulder", None, ["Physical therapy"])]),
])
def test_odg(text, expected):
    assert cites(text) == expected


def test_mtus_then_odg_then_other():
    result = cites("Decision based on MTUS Knee Complaints 2004. Decision based on Non-MTUS Citation "
                   "Sildenafil: Drug information, accessed from UpToDate.com on 12/17/2016.")
    assert result == [("MTUS", "Knee Complaints", 2004, []), ("OTHER", "Sildenafil: Drug information", None, [])]


@pytest.mark.parametrize("text, expected", [
    # a second source joined onto the first statement, without its own "Decision based on"
    ("Decision based on MTUS ACOEM Chapter 12 Low Back Complaints, pages 303-304; and on the Non-MTUS "
     "Official Disability Guidelines (ODG) Low Back Chapter, MRIs.",
     [("MTUS", "Low Back Complaints", None, []), ("ODG", "Low Back", None, ["MRIs"])]),
    ("Decision based on MTUS Chronic Pain Medical Treatment Guidelines, Opioids and ODG Pain Chapter, "
     "Urine drug testing.",
     [("MTUS", "Chronic Pain Medical Treatment Guidelines", None, ["Opioids"]),
      ("ODG", "Pain", None, ["Urine drug testing"])]),
])
def test_a_source_joined_onto_a_statement_is_its_own_citation(text, expected):
    assert cites(text) == expected


def test_acoem_outside_mtus():
    assert cites("Decision based on Non-MTUS Citation ACOEM Occupational Medicine Practice Guidelines, 3rd ed., "
                 "Shoulder Disorders, pg 64.") == [("ACOEM", "Shoulder Disorders", None, [])]


def test_split_sections():
    assert split_sections("Special Studies, Diagnostic Criteria, Summary.") == [
        "Special Studies", "Diagnostic Criteria", "Summary"]
    assert split_sections("NSAIDs, GI symptoms & cardiovascular risk, Proton Pump Inhibitors (PPIs)") == [
        "NSAIDs, GI symptoms & cardiovascular risk", "Proton Pump Inhibitors (PPIs)"]
    assert split_sections("Ultrasound, therapeutic; Ultrasound, therapeutic") == ["Ultrasound, therapeutic"]


@pytest.mark.parametrize("text, expected", [
    ("The Claims Administrator based its decision on the MTUS ACOEM Practice Guidelines, 2nd Edition (2004), "
     "Chapter 12, pages 303-305.", [("MTUS", "Low Back Complaints", 2004, [])]),
    ("The Expert Reviewer based his/her decision on the MTUS Chronic Pain Medical Treatment Guidelines, Opioids, "
     "criteria for use, pages 76-80, which is part of the MTUS.",
     [("MTUS", "Chronic Pain Medical Treatment Guidelines", None, ["Opioids, criteria for use"])]),
    ("Decision based on MTUS Chronic Pain Medical Treatment Guidelines, page(s) 111-113, which are part of the MTUS.",
     [("MTUS", "Chronic Pain Medical Treatment Guidelines", None, [])]),
    ("The Claims Administrator based its decision on the Official Disability Guidelines (ODG), Low Back Chapter, "
     "Lumbar Supports.", [("ODG", "Low Back", None, ["Lumbar Supports"])]),
    # early 2013: an MTUS guideline named without the word MTUS
    ("The Claims Administrator based its decision on the Chronic Pain Medical Treatment Guidelines (2009), "
     "Physical Medicine, pages 98-99, which is part of the MTUS.",
     [("MTUS", "Chronic Pain Medical Treatment Guidelines", 2009, ["Physical Medicine"])]),
    ("The Physician Reviewer based his/her decision on the Acupuncture Medical Treatment Guidelines, which is part "
     "of the MTUS.", [("MTUS", "Acupuncture Medical Treatment Guidelines", None, [])]),
    # the current wording's preamble names no guideline: only the statement after it counts
    ("The Expert Reviewer based their decision on recommendation(s) outside of the MTUS Guidelines. Decision "
     "based on Non-MTUS Citation Official Disability Guidelines (ODG) Pain Chapter, Topical Analgesics.",
     [("ODG", "Pain", None, ["Topical Analgesics"])]),
])
def test_2013_14_wording_reviewer_based_decision_on(text, expected):
    """Letters of 2013-14 write "<who> based its/his/her decision on the MTUS ..., pages 76-80,
    which is part of the MTUS": the page numbers and the clause are neither documents nor sections."""
    assert cites(text) == expected


@pytest.mark.parametrize("text, document, year", [
    ("Decision based on Non-MTUS Citation American Thoracic Society (ATS): Standards for Pulmonary Rehabilitation - 2013",
     "Standards for Pulmonary Rehabilitation", 2013),
    ("Decision based on Non-MTUS Citation American College of Radiology, Appropriateness Criteria for Low Back Pain, 2015",
     "Appropriateness Criteria for Low Back Pain", 2015),
    ("Decision based on Non-MTUS Citation Zorvane (zorbitol) prescribing information, U.S. Food and Drug Administration, 2011",
     "Zorvane (zorbitol) prescribing information", 2011),
    ("Decision based on Non-MTUS Citation JNC 7, The Seventh Report on High Blood Pressure",
     "The Seventh Report on High Blood Pressure", None),
    # a title that opens with a society's name, with no boundary after it, stays whole
    ("Decision based on Non-MTUS Citation AANEM Recommended Policy for Electrodiagnostic Medicine",
     "AANEM Recommended Policy for Electrodiagnostic Medicine", None),
])
def test_other_source_without_its_issuer_or_year(text, document, year):
    """ANNOTATION.md: the document is named without the source name or year; for another
    guideline the source is its issuing body or publisher."""
    [c] = parse_guideline(text)
    assert (c["source"], c["document"], c["year"]) == ("OTHER", document, year)
