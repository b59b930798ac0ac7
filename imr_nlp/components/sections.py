"""``imr_sections``: split a letter into HEADER, REVIEWER, SUMMARY and ISSUES.

IMR letters of every layout since 2013 carry the same three headings ("HOW THE IMR FINAL
DETERMINATION WAS MADE", "CLINICAL CASE SUMMARY", "IMR ISSUES, DECISIONS AND RATIONALES"); the
header block (case number and dates) is whatever precedes the first heading. Headings are found
as whole lines, allowing any spacing inside them, so hard wraps and odd spacing do not hide them;
a heading written another way (``HEADING_VARIANTS``: "Expert Reviewer Case Summary:") is found as a
line of its own; a heading the extraction ran into the next line of text, or lost, is found by its
words anywhere or by the form sentence that opens its section (``OPENING_SENTENCES``).
The spans land on ``doc.spans["imr_sections"]`` so they serialize with the Doc.
"""
from __future__ import annotations

import re
from typing import Iterable

from spacy.language import Language
from spacy.tokens import Doc

from ..text import doc_text

SPANS_KEY = "imr_sections"

DEFAULT_HEADINGS: dict[str, str] = {
    "REVIEWER": "HOW THE IMR FINAL DETERMINATION WAS MADE",
    "SUMMARY": "CLINICAL CASE SUMMARY",
    "ISSUES": "IMR ISSUES, DECISIONS AND RATIONALES",
}


# Form sentences that open each section in every layout; they place a section whose heading the
# PDF text lost (a heading drawn as an image, or dropped by the extractor).
OPENING_SENTENCES: dict[str, str] = {
    "REVIEWER": "MAXIMUS Federal Services sent the complete case file",
    "SUMMARY": "The expert reviewer developed the following clinical case summary",
    "ISSUES": "The Final Determination was based on decisions for the disputed items",
}


# Other wordings of a heading, each a whole line (case-blind): a summary may be headed "Expert
# Reviewer Case Summary:" or "Case Summary" rather than the usual heading.
HEADING_VARIANTS: dict[str, list[str]] = {
    "SUMMARY": [r"(?:Expert\s+Reviewer(?:'s)?\s+|Physician\s+Reviewer(?:'s)?\s+)?(?:Clinical\s+)?Case\s+Summary\s*:?"],
}


def _whole_line(pattern: str, flags: int = 0) -> re.Pattern[str]:
    """``pattern`` as a line of its own (spaces or tabs around it allowed)."""
    return re.compile(r"(?:^|(?<=[\n\f]))[ \t]*" + pattern + r"[ \t]*(?=\r?\n|\f|$)", flags)


def variant_regex(pattern: str) -> re.Pattern[str]:
    """A heading variant as a line of its own, case-blind."""
    return _whole_line(pattern, re.IGNORECASE)


def heading_regex(heading: str) -> re.Pattern[str]:
    """A heading as a line of its own, words separated by any whitespace."""
    return _whole_line(r"\s+".join(re.escape(w) for w in heading.split()))


def _phrase_regex(phrase: str, flags: int = 0) -> re.Pattern[str]:
    """A phrase anywhere, words separated by any whitespace."""
    return re.compile(r"(?<![\w])" + r"\s+".join(re.escape(w) for w in phrase.split()) + r"(?![\w])", flags)


class SectionSegmenter:
    """Find the letter's headings and store one span per section with its label."""

    def __init__(self, nlp: Language, name: str, headings: dict[str, str]):
        self.name = name
        self.headings = dict(headings)
        # a heading on a line of its own; else another wording of it on a line of its own; else the
        # heading run into its first line of text; else the section's opening form sentence
        self._regexes = {label: [heading_regex(h)] + [variant_regex(v) for v in HEADING_VARIANTS.get(label, [])]
                         + [_phrase_regex(h)]
                         + ([_phrase_regex(OPENING_SENTENCES[label], re.IGNORECASE)] if label in OPENING_SENTENCES else [])
                         for label, h in self.headings.items()}

    def find_headings(self, text: str) -> list[tuple[int, int, str]]:
        """(heading start, heading end, label) for the first occurrence of each heading, in order."""
        found = []
        for label, regexes in self._regexes.items():
            m = next((m for m in (rx.search(text) for rx in regexes) if m), None)
            if m:
                found.append((m.start(), m.end(), label))
        return sorted(found)

    def __call__(self, doc: Doc) -> Doc:
        text = doc_text(doc)
        headings = self.find_headings(text)
        spans = []
        bounds: Iterable[tuple[int, int, str]]
        first = headings[0][0] if headings else len(text)
        bounds = [(0, first, "HEADER")] if text[:first].strip() else []
        bounds = list(bounds) + [
            (start, headings[i + 1][0] if i + 1 < len(headings) else len(text), label)
            for i, (start, _end, label) in enumerate(headings)
        ]
        for start, end, label in bounds:
            span = doc.char_span(start, end, label=label, alignment_mode="expand")
            if span is not None and len(span):
                spans.append(span)
        doc.spans[SPANS_KEY] = spans
        return doc


@Language.factory(
    "imr_sections",
    default_config={"headings": DEFAULT_HEADINGS},
)
def make_section_segmenter(nlp: Language, name: str, headings: dict[str, str]) -> SectionSegmenter:
    return SectionSegmenter(nlp, name, headings)


def section_bounds(doc: Doc, label: str) -> tuple[int, int] | None:
    """Character bounds of the first section with ``label``, or None."""
    for span in doc.spans.get(SPANS_KEY, []):
        if span.label_ == label:
            return span.start_char, span.end_char
    return None
