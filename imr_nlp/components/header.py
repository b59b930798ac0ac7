"""``imr_header``: the letter's metadata — case number, header dates, priority, the reviewer's
states of licensure and specialties, and the patient's age and sex.

Why a label/value queue: PDF text comes out in different orders. ``pdftotext -layout`` keeps
"Label: value" pairs on one line in two columns; plain ``pdftotext`` puts a column of labels
before a column of values; PDFium wraps "Application Received:" around its value. Reading the
header as a stream of labels and values, and giving each value to the oldest waiting label that
takes that kind of value, reads all of them with one rule.

Older (2013-14) letters may have no header at all; then the date of injury and the UR denial
date are read from the case summary's prose, and the reviewer from the sentence "The expert
reviewer is Board Certified in X, has a subspecialty in Y and is licensed to practice in Z."
"""
from __future__ import annotations

import re
from typing import Any, Optional

from spacy.language import Language
from spacy.tokens import Doc

from ..text import DATE_PATTERN, collapse, doc_text, parse_date
from .sections import section_bounds

if not Doc.has_extension("imr_header"):
    Doc.set_extension("imr_header", default=None)

DATE_FIELDS = ("date_assigned", "date_of_injury", "decision_date", "ur_denial_date", "application_received")

# label regex -> (field, kind of value it takes)
HEADER_LABELS: list[tuple[str, str, str]] = [
    (r"Case\s+Number\s*:", "case_number", "case"),
    (r"Date\s+Assigned\s*:", "date_assigned", "date"),
    (r"Date\s+of\s+Injury\s*:", "date_of_injury", "date"),
    (r"Decision\s+Date\s*:", "decision_date", "date"),
    # 2013-14 letters: the date the determination was issued; the decision date where the letter
    # has no "Decision Date:" of its own
    (r"\bDated\s*:", "dated", "date"),
    (r"UR\s+Denial\s+Date\s*:", "ur_denial_date", "date"),
    (r"(?:Date\s+of\s+UR\s+(?:Decision|Denial)|UR\s+Decision\s+Date)\s*:", "ur_denial_date", "date"),
    (r"Priority\s*:", "priority", "priority"),
    (r"Application(?:\s+Received\s*:|\b)", "application_received", "date"),
    (r"Received\s*:", "", ""),  # the wrapped second half of "Application Received:"
]
CASE_NUMBER = r"\b[A-Z]{2}\d{2}-\d{7}\b"
HEADER_VALUES: list[tuple[str, str]] = [
    (CASE_NUMBER, "case"),
    (DATE_PATTERN, "date"),
    (r"\b(?:Standard|Expedited|Urgent)\b", "priority"),
]

_TOKEN = re.compile(
    "|".join(f"(?P<L{i}>{rx})" for i, (rx, _f, _k) in enumerate(HEADER_LABELS))
    + "|"
    + "|".join(f"(?P<V{i}>{rx})" for i, (rx, _k) in enumerate(HEADER_VALUES)),
    re.IGNORECASE,
)

# Fallbacks read from prose when a letter has no header (2013-14 layouts).
PROSE_DATE_OF_INJURY = re.compile(
    r"(?:date\s+of\s+injury|injur(?:y|ed)|DOI)\s*(?:of|on|dated|was|is|:)?\s*(?P<date>" + DATE_PATTERN + ")",
    re.IGNORECASE,
)
PROSE_UR_DENIAL = re.compile(
    r"(?:utilization\s+review|\bUR\b)[^.;]{0,60}?\b(?:dated|on|of)\s+(?P<date>" + DATE_PATTERN + ")"
    r"|On\s+(?P<date2>" + DATE_PATTERN + r"),?\s+(?:a\s+|the\s+)?(?:utilization\s+review|UR)\b",
    re.IGNORECASE,
)
LICENSURE = re.compile(r"State\(s\)\s+of\s+Licensure\s*:[ \t]*(?P<v>[^\n\f]*)", re.IGNORECASE)
# A specialty list may wrap onto the next line, after a blank line in double-spaced text; it ends
# at a heading, a "Label:" line or the end of the reviewer section.
SPECIALTY = re.compile(r"Certification\(s\)\s*/\s*Specialty\s*:[ \t]*(?P<v>[^\n\f]*(?:\n(?:[ \t]*\n)*"
                       r"(?![ \t]*(?-i:[A-Z ]{8,})[ \t]*$)(?=[ \t]*\S)(?![^\n]*:)[^\n\f]*)*)",
                       re.IGNORECASE | re.MULTILINE)
PROSE_REVIEWER = re.compile(
    r"Board\s+Certified\s+in\s+(?P<board>.+?)"
    r"(?:,?\s+(?:has\s+a\s+)?subspecialty\s+in\s+(?P<sub>.+?))?"
    r",?\s+and\s+is\s+licensed\s+to\s+practice\s+in\s+(?P<states>.+?)\.",
    re.IGNORECASE,
)
PROSE_STATES = re.compile(r"\blicensed\s+to\s+practice\s+in\s+(?P<states>.+?)(?=\.|,?\s+and\s+(?:is|has)\b)",
                          re.IGNORECASE)
PROSE_BOARD = re.compile(r"Board\s+Certified\s+in\s+(?P<board>.+?)(?=,|\s+and\s+is\b|\.)", re.IGNORECASE)
AGE = re.compile(r"\b(?P<age>\d{1,3})[\s-]*(?:year|yr)s?[\s-]*old\b", re.IGNORECASE)
AGE_ALT = re.compile(r"\bage(?:d)?\s*(?::|of)?\s*(?P<age>\d{1,3})\b", re.IGNORECASE)
SEX_WORDS = {
    "male": "male", "man": "male", "gentleman": "male", "boy": "male",
    "female": "female", "woman": "female", "lady": "female", "girl": "female",
}
SEX_WORD = re.compile(r"\b(" + "|".join(SEX_WORDS) + r")\b", re.IGNORECASE)
PRONOUNS = re.compile(r"\b(he|his|him|she|her|hers)\b", re.IGNORECASE)


def split_list(value: str, on_and: bool = False) -> list[str]:
    """Split "California,North Carolina" (and, for states, "Texas and Ohio", "Texas, Ohio, and Utah")
    into a list."""
    parts = re.split(r"\s*,\s*(?:and\s+)?|\s+and\s+" if on_and else r"\s*,\s*", value.strip().rstrip("."))
    return [p.strip() for p in parts if p.strip()]


def read_header_fields(text: str) -> dict[str, Any]:
    """Read case number, header dates and priority from the header block's text."""
    fields: dict[str, Any] = {}
    waiting: list[tuple[str, str]] = []  # labels seen and not yet given a value
    for m in _TOKEN.finditer(text):
        group = m.lastgroup or ""
        index = int(group[1:])
        if group[0] == "L":
            _rx, field, kind = HEADER_LABELS[index]
            if field and field not in fields:
                waiting.append((field, kind))
            continue
        kind = HEADER_VALUES[index][1]
        for j, (field, want) in enumerate(waiting):
            if want == kind:
                fields[field] = m.group(0)
                del waiting[j]
                break
    dated = fields.pop("dated", None)
    if dated and "decision_date" not in fields:
        fields["decision_date"] = dated
    return fields


class HeaderReader:
    """Fill ``doc._.imr_header`` with the letter's metadata (plain, JSON-able values)."""

    def __init__(self, nlp: Language, name: str):
        self.name = name

    def __call__(self, doc: Doc) -> Doc:
        text = doc_text(doc)
        header = dict.fromkeys(
            ("case_number", *DATE_FIELDS, "priority", "age", "sex"), None)
        header["licensure"], header["specialty"] = [], []

        bounds = section_bounds(doc, "HEADER")
        raw = read_header_fields(text[bounds[0]:bounds[1]]) if bounds else {}
        case = raw.get("case_number") or _first(re.search(CASE_NUMBER, text))
        header["case_number"] = case.upper() if case else None
        for field in DATE_FIELDS:
            parsed = parse_date(raw[field]) if field in raw else None
            header[field] = parsed.isoformat() if parsed else None
        header["priority"] = raw["priority"].capitalize() if "priority" in raw else None

        summary = section_bounds(doc, "SUMMARY")
        summary_text = collapse(text, *summary).text if summary else ""
        if header["date_of_injury"] is None:
            header["date_of_injury"] = _prose_date(PROSE_DATE_OF_INJURY, summary_text)
        if header["ur_denial_date"] is None:
            header["ur_denial_date"] = _prose_date(PROSE_UR_DENIAL, summary_text)

        reviewer = section_bounds(doc, "REVIEWER")
        if reviewer:
            self._read_reviewer(text[reviewer[0]:reviewer[1]], header)
        header["age"], header["sex"] = read_patient(summary_text)
        doc._.imr_header = header
        return doc

    @staticmethod
    def _read_reviewer(text: str, header: dict[str, Any]) -> None:
        lic, spec = LICENSURE.search(text), SPECIALTY.search(text)
        if lic or spec:
            header["licensure"] = split_list(lic["v"]) if lic else []
            header["specialty"] = split_list(" ".join(spec["v"].split())) if spec else []
            return
        flat = collapse(text).text
        prose = PROSE_REVIEWER.search(flat)
        if prose:
            header["specialty"] = [s for s in (prose["board"], prose["sub"]) if s]
            header["licensure"] = split_list(prose["states"], on_and=True)
            return
        # a reviewer who is not board certified ("is a Licensed Psychologist and is licensed to
        # practice in California"), or a sentence in another order: each part on its own
        states = PROSE_STATES.search(flat)
        board = PROSE_BOARD.search(flat)
        header["licensure"] = split_list(states["states"], on_and=True) if states else []
        header["specialty"] = [board["board"]] if board else []


def _first(match: Optional[re.Match[str]]) -> Optional[str]:
    return match.group(0) if match else None


def _prose_date(regex: re.Pattern[str], text: str) -> Optional[str]:
    m = regex.search(text)
    if not m:
        return None
    value = next(v for k, v in m.groupdict().items() if v)
    parsed = parse_date(value)
    return parsed.isoformat() if parsed else None


def read_patient(summary: str) -> tuple[Optional[int], Optional[str]]:
    """Age from "48 year old"/"56-year-old"; sex from the first sex word, else the pronouns."""
    m = AGE.search(summary) or AGE_ALT.search(summary)
    age = int(m["age"]) if m and 0 < int(m["age"]) < 120 else None
    word = SEX_WORD.search(summary)
    if word:
        return age, SEX_WORDS[word.group(1).lower()]
    counts = {"male": 0, "female": 0}
    for p in PRONOUNS.findall(summary):
        counts["male" if p.lower() in ("he", "his", "him") else "female"] += 1
    if counts["male"] == counts["female"]:
        return age, None
    return age, max(counts, key=counts.__getitem__)


@Language.factory("imr_header")
def make_header_reader(nlp: Language, name: str) -> HeaderReader:
    return HeaderReader(nlp, name)
