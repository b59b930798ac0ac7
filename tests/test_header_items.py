"""Header and item reading on the PDF-text shapes: reading-order blocks, double spacing, wraps."""
from __future__ import annotations

import re

import pytest

import imr_nlp
from imr_nlp.components.header import read_header_fields

READING_ORDER_HEADER = """Case Number:
Date Assigned:
Decision Date:
Priority:

CM17-0001234
01/03/2017
02/21/2017
Expedited

Date of Injury:
UR Denial Date:
Application
Received:

05/05/2015
12/12/2016
12/30/2016
"""


def test_header_labels_and_values_in_separate_blocks():
    assert read_header_fields(READING_ORDER_HEADER) == {
        "case_number": "CM17-0001234", "date_assigned": "01/03/2017", "decision_date": "02/21/2017",
        "priority": "Expedited", "date_of_injury": "05/05/2015", "ur_denial_date": "12/12/2016",
        "application_received": "12/30/2016"}


def test_header_wrapped_around_its_value_as_pdfium_gives_it():
    text = ("Case Number: CM17-0001234\nDate Assigned: 01/03/2017 Date of Injury: 05/05/2015\n"
            "Decision Date: 02/21/2017 UR Denial Date: 12/12/2016\nPriority: Standard Application \n"
            "Received: \n12/30/2016\n")
    fields = read_header_fields(text)
    assert fields["application_received"] == "12/30/2016"
    assert fields["priority"] == "Standard"


def double_spaced(text: str) -> str:
    return "\n\n".join(line + " " for line in text.splitlines())


def test_double_spaced_letter_without_header(example_text):
    body = example_text[example_text.index("HOW THE IMR"):]
    letter = imr_nlp.parse(double_spaced(body))
    assert letter.case_number is None
    assert [i.decision for i in letter.items] == ["upheld", "overturned"]
    assert letter.items[0].text == "Norco 10/325mg #90"
    assert letter.items[1].text == "Physical therapy for the left knee two sessions"
    assert letter.date_of_injury is not None  # read from the summary's prose
    assert "no case number found" in letter.warnings


def test_item_text_wrapped_over_lines():
    letter = imr_nlp.parse(
        "IMR ISSUES, DECISIONS AND RATIONALES\n"
        "The Final Determination was based on decisions for the disputed items/services set forth below:\n"
        "Lidoderm patch, 12 hours on 12 hours off to affected area, #1 box with 1 refill, DOS:\n"
        "11/11/2016: Upheld\n\n"
        "Claims Administrator guideline: Decision based on MTUS Chronic Pain Medical Treatment 2016.\n\n"
        "MAXIMUS guideline: Decision based on MTUS Chronic Pain Medical Treatment 2016, Section(s):\n"
        "Lidoderm (lidocaine patch).\n\n"
        "Decision rationale: Lidoderm is recommended only after a trial of first-line therapy. The\n"
        "request is not medically necessary.\n"
        "Urine drug screen: Overturned\n"
        "Claims Administrator guideline: The Claims Administrator did not cite any medical evidence.\n"
        "MAXIMUS guideline: Decision based on MTUS Chronic Pain Medical Treatment 2016, Section(s): Drug testing.\n"
        "Decision rationale: Drug testing is recommended for patients on opioids. The request is medically necessary.\n")
    first, second = letter.items
    assert first.text == ("Lidoderm patch, 12 hours on 12 hours off to affected area, #1 box with 1 refill, "
                          "DOS: 11/11/2016")
    assert first.reviewer_guidelines[0].sections == ["Lidoderm (lidocaine patch)"]
    assert second.text == "Urine drug screen" and second.decision == "overturned"
    assert second.claims_administrator_guidelines == []
    assert second.rationale.startswith("Drug testing is recommended")


def test_2013_wording_physician_reviewer():
    """2013 letters say "Physician Reviewer guideline:" and "The Physician Reviewer's decision
    rationale:"; neither label leaks into the citation or the rationale."""
    letter = imr_nlp.parse(
        "IMR ISSUES, DECISIONS AND RATIONALES\n"
        "The Final Determination was based on decisions for the disputed items/services set forth below:\n\n"
        "LUMBAR BRACE: Upheld\n\n"
        "Claims Administrator guideline: The Claims Administrator based its decision on the MTUS ACOEM\n"
        "Practice Guidelines, 2nd Edition (2004), Chapter 12, page 301.\n\n"
        "Physician Reviewer guideline: The Physician Reviewer based his/her decision on the Official\n"
        "Disability Guidelines (ODG), Low Back Chapter, Lumbar Supports.\n\n"
        "The Physician Reviewer's decision rationale: Lumbar supports have not been shown to have any\n"
        "lasting benefit beyond the acute phase. The request is not medically necessary.\n")
    (item,) = letter.items
    assert item.text == "LUMBAR BRACE" and item.decision == "upheld"
    assert [(c.source, c.document, c.year) for c in item.claims_administrator_guidelines] == [
        ("MTUS", "Low Back Complaints", 2004)]
    assert [(c.source, c.document, c.sections) for c in item.reviewer_guidelines] == [
        ("ODG", "Low Back", ["Lumbar Supports"])]
    assert item.rationale.startswith("Lumbar supports have not been shown")


NUMBERED_LAYOUT = (
    "CLINICAL CASE SUMMARY\n"
    "The injured worker is a 44-year-old carpenter who hurt his neck lifting a beam. He has had six\n"
    "sessions of physical therapy and takes naproxen.\n\n"
    "IMR ISSUES, DECISIONS AND RATIONALES\n"
    "The Final Determination was based on decisions for the disputed items/services set forth below:\n\n"
    "1. Acupuncture twice a week for six weeks for the cervical spine is not medically necessary and\n"
    "appropriate.\n\n"
    "The Claims Administrator based its decision on the Acupuncture Medical Treatment Guidelines,\n"
    "which is part of the MTUS.\n\n"
    "The Physician Reviewer based his/her decision on the MTUS Acupuncture Medical Treatment\n"
    "Guidelines, page 9.\n\n"
    "Rationale for the Decision:\n"
    "The guidelines allow a trial of 3 to 6 treatments, with more only after functional improvement\n"
    "is documented. Twelve sessions exceed the trial the guidelines support. The request is not\n"
    "medically necessary.\n\n"
    "2. One MRI of the cervical spine is medically necessary and appropriate.\n\n"
    "The Claims Administrator based its decision on the MTUS ACOEM Practice Guidelines, 2nd Edition\n"
    "(2004), Chapter 8, pages 177-178.\n\n"
    "The Physician Reviewer based his/her decision on the MTUS ACOEM Practice Guidelines, 2nd\n"
    "Edition (2004), Chapter 8, page 178.\n\n"
    "Rationale for the Decision:\n"
    "Imaging is supported when there is a new neurologic deficit. Weakness of the right biceps was\n"
    "found, so the MRI is medically necessary.\n")


def test_early_2013_numbered_items():
    """Early 2013 letters number the items and state the decision as a sentence ("is not
    medically necessary and appropriate" = upheld), with no "guideline:" labels: each part begins
    with its statement, and the rationale with "Rationale for the Decision:"."""
    letter = imr_nlp.parse(NUMBERED_LAYOUT)
    first, second = letter.items
    assert first.text == "Acupuncture twice a week for six weeks for the cervical spine"
    assert (first.decision, second.decision) == ("upheld", "overturned")
    assert second.text == "One MRI of the cervical spine"
    assert [(c.source, c.document) for c in first.claims_administrator_guidelines] == [
        ("MTUS", "Acupuncture Medical Treatment Guidelines")]
    assert [(c.source, c.document, c.year) for c in second.reviewer_guidelines] == [
        ("MTUS", "Neck and Upper Back Complaints", 2004)]
    assert first.rationale.startswith("The guidelines allow a trial") and first.rationale.endswith("necessary.")
    assert second.rationale.startswith("Imaging is supported")
    assert first.denial_reasons and not second.denial_reasons
    assert first.treatment == "Acupuncture" and second.treatment == "MRI"
    # the same letter double-spaced, as 2013-14 PDFs come out, reads the same
    spaced = imr_nlp.parse("\n\n".join(line + " " for line in NUMBERED_LAYOUT.split("\n")))
    assert [(i.text, i.decision) for i in spaced.items] == [(i.text, i.decision) for i in letter.items]


def test_numbered_list_in_a_rationale_is_not_an_item():
    """A numbered list of criteria inside a rationale does not start a new item."""
    text = NUMBERED_LAYOUT.replace(
        "The guidelines allow a trial of 3 to 6 treatments",
        "The guidelines require:\n1. documented pain relief\n2. a home exercise program\nThey allow a trial of 3 to 6 "
        "treatments")
    assert [i.text for i in imr_nlp.parse(text).items] == [
        "Acupuncture twice a week for six weeks for the cervical spine", "One MRI of the cervical spine"]


def test_reviewer_paragraph_variants():
    from imr_nlp.components.header import HeaderReader

    def read(sentence):
        header = {}
        HeaderReader._read_reviewer(f"MAXIMUS Federal Services sent the complete case file to an expert reviewer. "
                                    f"{sentence} He/she has been in active clinical practice.", header)
        return header["specialty"], header["licensure"]

    assert read("The expert reviewer is Board Certified in Preventive Medicine, has a subspecialty in Occupational "
                "Medicine and is licensed to practice in Texas, Illinois, and California.") == (
        ["Preventive Medicine", "Occupational Medicine"], ["Texas", "Illinois", "California"])
    assert read("The expert reviewer is a Licensed Psychologist and is licensed to practice in California.") == (
        [], ["California"])
    assert read("The expert reviewer is licensed to practice in California and is Board Certified in Orthopaedic "
                "Surgery.") == (["Orthopaedic Surgery"], ["California"])


def with_page_furniture(text: str, every: int, case_number: str) -> str:
    """``text`` with a running header and footer every ``every`` lines, as PDF text keeps them."""
    lines, page = text.splitlines(), 1
    out = []
    for n, line in enumerate(lines, 1):
        out.append(line)
        if n % every == 0:
            page += 1
            out += ["", f"Page {page - 1} of 9", "\f" + f"{case_number}   Page {page} of 9", ""]
    return "\n".join(out)


def test_page_headers_and_footers_change_nothing(example_text):
    clean = imr_nlp.parse(example_text).to_dict()
    for every in (5, 7, 11):
        noisy = imr_nlp.parse(with_page_furniture(example_text, every, clean["case_number"])).to_dict()
        assert noisy["header"] == clean["header"] and noisy["case_number"] == clean["case_number"]
        def without_offsets(items):  # the removed lines shift the offsets, nothing else
            return [{k: v for k, v in item.items() if k not in ("start", "end")} for item in items]
        assert without_offsets(noisy["items"]) == without_offsets(clean["items"])
        assert noisy["entities"] == clean["entities"]


def test_footer_inside_a_wrapped_double_spaced_item():
    body = ("IMR ISSUES, DECISIONS AND RATIONALES \n\nThe Final Determination was based on decisions for the "
            "disputed items/services set forth below: \n\nIONTOPHORESIS WITH ELECTRICAL STIMULATION FOR THE "
            "BILATERAL \n\nPage 3 of 4 \n\n\fSHOULDERS (6 TREATMENTS):  Upheld \n\nClaims Administrator guideline: "
            "Decision based on MTUS ACOEM Chapter 9 Shoulder Complaints. \n\nMAXIMUS guideline: Decision based on "
            "Non-MTUS Citation Official Disability Guidelines (ODG) Shoulder Chapter, Iontophoresis \n\n- 4 - \n\n"
            "Decision rationale: ODG states that iontophoresis is not recommended. \n\n60 \n\n"
            "The request is not medically necessary. \n\n2 \n")
    letter = imr_nlp.parse(body)
    item = letter.items[0]
    assert item.text == "IONTOPHORESIS WITH ELECTRICAL STIMULATION FOR THE BILATERAL SHOULDERS (6 TREATMENTS)"
    assert [c.sections for c in item.reviewer_guidelines] == [["Iontophoresis"]]
    assert "- 4 -" not in letter.text and "Page 3" not in letter.text
    assert "60" in item.rationale  # a number in the text, not at a page break, stays
    assert not letter.text.rstrip().endswith("2")  # the last page's number goes


def test_running_header_in_a_letter_without_header(example_text):
    """A 2013-14 letter with no header block: the running header's case number inside the
    reviewer paragraph is page furniture, not the header."""
    body = example_text[example_text.index("HOW THE IMR"):]
    clean = imr_nlp.parse(body)
    noisy = imr_nlp.parse(with_page_furniture(body, 3, "CM99-0000001"))
    assert noisy.specialty == clean.specialty and noisy.licensure == clean.licensure
    assert "CM99-0000001" not in noisy.text
    assert [i.text for i in noisy.items] == [i.text for i in clean.items]


def test_header_with_date_of_ur_decision_label():
    text = ("IMR Case Number: CM13-0001234   Date of Injury: 05/05/2011\n"
            "Date of UR Decision: 08/01/2013   IMR Application Received: 08/15/2013\n")
    fields = read_header_fields(text)
    assert fields["case_number"] == "CM13-0001234"
    assert fields["ur_denial_date"] == "08/01/2013"
    assert fields["date_of_injury"] == "05/05/2011"
    assert fields["application_received"] == "08/15/2013"


@pytest.mark.parametrize("text, expected", [
    # 2013-14 letters date the determination "Dated: 12/31/2013" above a label column
    ("Dated: 12/31/2013\n\nEmployee:              [redacted]\nClaim Number:          [redacted]\n"
     "Date of UR Decision:   8/5/2013\nDate of Injury:        6/15/2012\nIMR Case Number:       CM13-0004321\n",
     {"decision_date": "12/31/2013", "ur_denial_date": "8/5/2013", "date_of_injury": "6/15/2012",
      "case_number": "CM13-0004321"}),
    # a cover page "Dated:" above a header table with its own "Decision Date:": the table's field
    ("Dated: 3/14/2014\n\nIMR Case Number:  CM14-0021377 Date Assigned:  02/21/2014\n"
     "Date of Injury:  05/02/2011 Decision Date:  03/13/2014\nUR Denial Date:  01/29/2014 Priority:  Standard\n",
     {"decision_date": "03/13/2014", "date_assigned": "02/21/2014", "date_of_injury": "05/02/2011",
      "ur_denial_date": "01/29/2014"}),
])
def test_dated_is_the_decision_date_where_the_header_has_none(text, expected):
    fields = read_header_fields(text)
    assert {k: fields.get(k) for k in expected} == expected


def test_summary_heading_written_another_way(example_text):
    """A summary headed "Expert Reviewer Case Summary:", without the usual form sentence, is still
    the summary: its patient and its mentions are read."""
    clean = imr_nlp.parse(example_text)
    text = re.sub(r"The expert reviewer developed the following clinical case summary[^:]*:", "",
                  example_text.replace("CLINICAL CASE SUMMARY", "Expert Reviewer Case Summary:"))
    assert "clinical case summary" not in text.lower()
    letter = imr_nlp.parse(text)
    assert [s.label for s in letter.sections] == ["HEADER", "REVIEWER", "SUMMARY", "ISSUES"]
    assert (letter.age, letter.sex) == (clean.age, clean.sex) != (None, None)
    assert letter.to_dict()["entities"] == clean.to_dict()["entities"]


def test_wrapped_specialty_list_in_double_spaced_text(example_text):
    wrapped = example_text.replace("Physical Medicine & Rehabilitation, Pain Management",
                                   "Physical Medicine & Rehabilitation, Pain\nManagement")
    assert wrapped != example_text
    for text in (wrapped, double_spaced(wrapped)):
        letter = imr_nlp.parse(text)
        assert letter.specialty == ["Physical Medicine & Rehabilitation", "Pain Management"]
        assert letter.licensure == ["California", "Oregon"]
