"""parse(): the Letter it returns for the bundled example, the seeds, and bad input."""
from __future__ import annotations

import json
import re
from datetime import date

import pytest

import imr_nlp
from imr_nlp.evaluate import REASON_LABELS

from conftest import EXAMPLE, SEEDS


def test_example_letter_structure(example_text):
    letter = imr_nlp.parse(example_text)
    assert letter.case_number == "CM99-0000001"
    assert letter.date_assigned == date(2017, 1, 4)
    assert letter.date_of_injury == date(2014, 6, 15)
    assert letter.decision_date == date(2017, 2, 10)
    assert letter.ur_denial_date == date(2016, 12, 20)
    assert letter.application_received == date(2017, 1, 2)
    assert letter.priority == "Standard"
    assert letter.licensure == ["California", "Oregon"]
    assert letter.specialty == ["Physical Medicine & Rehabilitation", "Pain Management"]
    assert (letter.age, letter.sex) == (52, "female")
    assert [s.label for s in letter.sections] == ["HEADER", "REVIEWER", "SUMMARY", "ISSUES"]
    assert [(i.text, i.decision) for i in letter.items] == [
        ("Norco 10/325mg #90", "upheld"),
        ("Physical therapy for the left knee two sessions", "overturned"),
    ]
    assert letter.warnings == []


def test_offsets_point_into_the_letter(example_text):
    letter = imr_nlp.parse(example_text)
    for item in letter.items:
        assert " ".join(example_text[item.start:item.end].split()) == item.text
        assert example_text[item.rationale_start:item.rationale_end].startswith("The MTUS")
    for section in letter.sections:
        assert example_text[section.start:section.end].strip()


def test_partial_certification(example_text):
    item = imr_nlp.parse(example_text).items[1]
    assert item.partial is not None
    assert item.partial.original_request == "Physical therapy for the left knee eight sessions"
    assert item.partial.authorized == "Physical therapy for the left knee six sessions"
    assert item.partial.remaining == item.text


def test_partial_certification_wrapped_at_sentence_ends(example_text):
    """Narrower lines: "original" and "request." on two lines, and a line that ends with
    "Administrator." (a sentence end) before "The remaining IMR eligible portion"."""
    head = "Physical therapy for the left knee eight sessions was the original request. Physical therapy"
    rewrapped = ("Physical therapy for the left knee eight sessions was the original\nrequest. Physical therapy "
                 "for the left knee six sessions was\nauthorized by the Claims Administrator.\nThe remaining IMR")
    text = example_text.replace(head + "\nfor the left knee six sessions was authorized by the Claims "
                                "Administrator. The remaining IMR", rewrapped)
    assert text != example_text
    item = imr_nlp.parse(text).items[1]
    assert item.partial is not None
    assert item.partial.original_request == "Physical therapy for the left knee eight sessions"
    assert item.text == "Physical therapy for the left knee two sessions"


def test_citations_are_parsed(example_text):
    norco, therapy = imr_nlp.parse(example_text).items
    assert [c.to_dict() for c in norco.reviewer_guidelines] == [{
        "source": "MTUS", "document": "Chronic Pain Medical Treatment", "year": 2016,
        "sections": ["Opioids, criteria for use", "Opioids, long-term assessment"]}]
    assert [(c.source, c.document, c.year, c.sections) for c in therapy.claims_administrator_guidelines] == [
        ("MTUS", "Knee Complaints", 2004, ["Initial Care"]),
        ("ODG", "Knee & Leg (Acute & Chronic)", None, ["Physical medicine treatment"]),
    ]


def test_to_dict_speaks_the_annotation_schema(example_text):
    record = imr_nlp.parse(example_text).to_dict()
    assert {"case_number", "header", "reviewer", "patient", "entities", "items"} <= set(record)
    assert set(record["header"]) == {"date_assigned", "date_of_injury", "decision_date", "ur_denial_date",
                                     "priority", "application_received"}
    assert record["header"]["decision_date"] == "2017-02-10"
    assert set(record["entities"]) == {"DRUG", "DOSE", "TREATMENT", "BODY_PART", "DIAGNOSIS", "GUIDELINE"}
    item_keys = {"text", "decision", "treatment", "drugs", "dose", "quantity", "body_parts",
                 "claims_administrator_guidelines", "reviewer_guidelines", "denial_reasons"}
    for item in record["items"]:
        assert item_keys <= set(item)
        assert set(item["denial_reasons"]) <= set(REASON_LABELS)
    assert record["items"][1]["denial_reasons"] == []  # overturned
    json.dumps(record)  # plain JSON


def test_items_frame(example_text):
    frame = imr_nlp.parse(example_text).items_frame()
    assert list(frame["decision"]) == ["upheld", "overturned"]
    assert frame.loc[0, "text"] == "Norco 10/325mg #90"


def test_render_returns_html(example_text):
    html = imr_nlp.parse(example_text).render(jupyter=False)
    assert "Norco" in html and "<" in html


def test_parse_accepts_paths(tmp_path, example_text):
    from pathlib import Path

    by_str = imr_nlp.parse(str(EXAMPLE))
    by_path = imr_nlp.parse(Path(EXAMPLE))
    assert by_str.case_number == by_path.case_number == "CM99-0000001"


def test_pipeline_is_cached():
    assert imr_nlp.load() is imr_nlp.load()


def test_docs_round_trip_through_docbin(example_text):
    from spacy.tokens import DocBin

    nlp = imr_nlp.load()
    doc = nlp(example_text)
    restored = list(DocBin(docs=[doc], store_user_data=True).from_bytes(
        DocBin(docs=[doc], store_user_data=True).to_bytes()).get_docs(nlp.vocab))[0]
    assert imr_nlp.Letter.from_doc(restored).to_dict() == imr_nlp.Letter.from_doc(doc).to_dict()


@pytest.mark.parametrize("text", ["", "   \n\t  "])
def test_empty_text_is_a_value_error(text):
    with pytest.raises(ValueError, match="empty"):
        imr_nlp.parse(text)


@pytest.mark.parametrize("value", [None, 42, b"Case Number: CM13-0018054", ["a letter"]])
def test_wrong_type_is_a_type_error(value):
    with pytest.raises(TypeError):
        imr_nlp.parse(value)


def test_missing_file_names_the_file(tmp_path):
    missing = tmp_path / "nope.pdf"
    with pytest.raises(imr_nlp.LetterSourceError, match="nope.pdf"):
        imr_nlp.parse(missing)


def test_corrupt_pdf_names_the_file(tmp_path):
    bad = tmp_path / "broken.pdf"
    bad.write_bytes(b"%PDF-1.4\nthis is not really a pdf")
    with pytest.raises(imr_nlp.LetterSourceError, match="broken.pdf"):
        imr_nlp.parse(bad)


def test_unsupported_suffix(tmp_path):
    doc = tmp_path / "letter.docx"
    doc.write_text("x")
    with pytest.raises(imr_nlp.LetterSourceError, match="unsupported"):
        imr_nlp.parse(doc)


def test_text_that_is_not_a_letter_gives_warnings():
    letter = imr_nlp.parse("Dear customer,\nYour order #1234 has shipped.\nThank you.")
    assert letter.items == []
    assert any("not an IMR letter" in w for w in letter.warnings)
    assert "no case number found" in letter.warnings


def test_seed_letters_2013_layout(shared, gold_records):
    import json as _json

    gold = [_json.loads(line) for line in (shared / "examples" / "gold.jsonl").read_text().splitlines()]
    for record in gold:
        letter = imr_nlp.parse(SEEDS / record["source_file"]).to_dict()
        assert letter["case_number"] == record["case_number"]
        assert letter["header"] == record["header"]
        assert letter["reviewer"] == record["reviewer"]
        assert letter["patient"] == record["patient"]
        assert [(i["text"], i["decision"]) for i in letter["items"]] == [
            (i["text"], i["decision"]) for i in record["items"]]


def test_batched_pipe_matches_one_letter_at_a_time(shared, example_text, nlp):
    """imr_linking and imr_reasons classify a batch of letters with one model call each; what a
    letter gets must not depend on the letters batched with it."""
    texts = [example_text] + [p.read_text(encoding="utf8") for p in sorted(SEEDS.glob("*.txt"))]

    def outcome(doc):
        items = [(it["text"], it["denial_reasons"], it["reason_probabilities"], it["reason_evidence"])
                 for it in doc._.imr_items]
        dx = [(s.text, s._.imr_kb_id, s._.imr_candidates) for s in doc.spans["imr"] if s.label_ == "DIAGNOSIS"]
        return items, dx

    one_by_one = [outcome(nlp(t)) for t in texts]
    batched = [outcome(d) for d in nlp.pipe(texts, batch_size=len(texts))]
    assert batched == one_by_one
    assert any(reasons for items, _dx in batched for _t, reasons, _p, _e in items)
    assert any(kb for _items, dx in batched for _t, kb, _c in dx)


def test_windows_line_ends_no_break_spaces_and_curly_quotes_parse_like_plain_text(tmp_path, example_text, nlp):
    """A letter saved on Windows ("\\r\\n"), or with no-break spaces or curly quotes from PDF
    extraction, parses to the record of its plain copy, from a string or a file; the pipeline
    called on "\\r\\n" text directly still finds each item's own text."""
    expected = imr_nlp.parse(example_text).to_dict()
    # no-break spaces from PDF extraction ("QTY:\\u00a01.00:\\u00a0Upheld") are spaces, curly quotes straight
    assert imr_nlp.parse(example_text.replace(": ", ":\u00a0")).to_dict() == expected
    quoted = example_text.replace("CLINICAL CASE SUMMARY", "CLINICAL CASE SUMMARY\nThe worker's diagnoses include "
                                  "de Quervain's tenosynovitis.", 1)
    assert "de Quervain's tenosynovitis" in imr_nlp.parse(quoted).to_dict()["entities"]["DIAGNOSIS"]
    assert imr_nlp.parse(quoted.replace("'", "\u2019")).to_dict() == imr_nlp.parse(quoted).to_dict()
    crlf = example_text.replace("\n", "\r\n")
    assert imr_nlp.parse(crlf).to_dict() == expected
    path = tmp_path / "letter.txt"
    path.write_bytes(crlf.encode("utf-8"))
    assert imr_nlp.parse(path).to_dict() == expected
    items = nlp(crlf)._.imr_items
    assert [" ".join(i["text"].split()) for i in items] == [i["text"] for i in expected["items"]]


def _without_offsets(record):
    """A to_dict() record without character offsets (they move when spacing or glyphs change)."""
    if isinstance(record, dict):
        return {k: _without_offsets(v) for k, v in record.items() if k not in ("start", "end")}
    if isinstance(record, list):
        return [_without_offsets(v) for v in record]
    return record


@pytest.mark.parametrize("shape", [
    pytest.param(lambda t: re.sub(r"(?<=[\w.,]) (?=\w)", "  ", t), id="two spaces between words"),
    pytest.param(lambda t: t.replace("fi", "\ufb01").replace("fl", "\ufb02"), id="ligatures"),
    pytest.param(lambda t: t.replace("tion", "ti\u00adon").replace(" the ", " the\u200b "), id="soft hyphens"),
    pytest.param(lambda t: re.sub(r"(?<=\w)-(?=\w)", "\u2013", t), id="en dashes"),
])
def test_odd_spacing_and_glyphs_parse_like_plain_text(example_text, shape):
    """Another extractor's spacing and glyphs (justified text with runs of spaces, ligatures,
    soft hyphens, zero-width spaces, en dashes for hyphens) give the record of the plain letter,
    offsets aside; the header keeps its columns."""
    body = example_text.index("HOW THE IMR")
    odd = example_text[:body] + shape(example_text[body:])
    assert odd != example_text
    assert _without_offsets(imr_nlp.parse(odd).to_dict()) == _without_offsets(imr_nlp.parse(example_text).to_dict())


def test_partial_certification_leaving_the_original_request(example_text):
    """The other wording: "The Claims Administrator authorized Y, leaving the original request IMR
    eligible. The original request, Z is: Upheld"; and a month's supply is the quantity."""
    start = example_text.index("Physical therapy for the left knee eight sessions was the original request.")
    end = example_text.index(":", example_text.index("The remaining IMR", start))
    text = (example_text[:start] + "Thirty day supply of Nucynta tablets 50mg was the original request. "
            "The Claims\nAdministrator authorized Nucynta tablets 50mg #10, leaving the original request\n"
            "IMR eligible. The original request, thirty day supply of Nucynta tablets 50mg is"
            + example_text[end:])
    item = imr_nlp.parse(text).items[1]
    assert item.text == "thirty day supply of Nucynta tablets 50mg"
    assert item.partial.authorized == "Nucynta tablets 50mg #10"
    d = item.to_dict()
    assert (d["drugs"], d["dose"], d["quantity"]) == (["Nucynta"], "50mg", "thirty day supply")


@pytest.mark.parametrize("item, treatment", [
    ("Retrospective injection of 2cc lidocaine 1% to the left shoulder", "injection"),  # a catch-all requested
    ("EMG and NCS of both upper extremities", "EMG and NCS"),
    ("EMG AND NCS OF BOTH UPPER EXTREMITIES", "EMG AND NCS"),  # 2013-14 letters write items in capitals
    ("Pre-operative labs: CMP", "CMP"),
])
def test_item_treatment_as_requested(example_text, item, treatment):
    text = example_text.replace("\nNorco 10/325mg #90: Upheld", f"\n{item}: Upheld")
    assert text != example_text
    assert imr_nlp.parse(text).items[0].to_dict()["treatment"] == treatment


def test_item_service_no_lexicon_knows_is_a_treatment_mention(example_text):
    """An item names what was requested: a service the lexicons and the recognizer do not know is
    the item's treatment and a TREATMENT mention, as written ("Pre-op" kept in the mention)."""
    letter = imr_nlp.parse(example_text.replace("Norco 10/325mg #90: Upheld",
                                                "Pre-op vexometry screening for the left knee: Upheld"))
    item = letter.items[0]
    assert item.treatment == "vexometry screening"
    assert "Pre-op vexometry screening" in letter.to_dict()["entities"]["TREATMENT"]
    assert item.body_parts == ["left knee"]


def test_item_medication_no_vocabulary_knows_is_a_drug_mention(example_text):
    letter = imr_nlp.parse(example_text.replace("Norco 10/325mg #90: Upheld", "Zorblax ER 10mg #60: Upheld"))
    item = letter.items[0]
    assert item.drugs == ["Zorblax"] and item.treatment is None and item.dose == "10mg"
    assert "Zorblax" in letter.to_dict()["entities"]["DRUG"]
