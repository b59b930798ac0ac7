"""``imr_items``: the disputed items under "IMR ISSUES, DECISIONS AND RATIONALES".

Each item is a block: the item text ending in ": Upheld" / ": Overturned", the claims
administrator's guideline, the reviewer's ("MAXIMUS") guideline and the decision rationale.
The decision line is the anchor: it is the one line in the block with a fixed form. The item
text is found by walking back from it line by line until the previous line closes a sentence
(the end of the previous rationale, or "set forth below:") or a paragraph break — which also
works for reading-order text with no blank lines and for double-spaced 2013-14 letters, where a
paragraph break is a blank run longer than the letter's usual one.

A partial certification ("X was the original request. Y was authorized by the Claims
Administrator. The remaining IMR eligible portion of the original request, Z is: Upheld", or
"X was the original request. The Claims Administrator authorized Y, leaving the original request
IMR eligible. The original request, Z is: Upheld") keeps all three parts; the item's text and
offsets are those of the remaining portion Z.
"""
from __future__ import annotations

import re
from collections import Counter
from typing import Any, Optional

from spacy.language import Language
from spacy.tokens import Doc

from ..text import collapse, doc_text, one_line
from .sections import section_bounds

if not Doc.has_extension("imr_items"):
    Doc.set_extension("imr_items", default=None)

SPANS_KEY = "imr_items"

DECISION = re.compile(r":[ \t]*(?:\r?\n[ \t\f]*)*(?P<decision>Upheld|Overturned)\b\.?[ \t]*(?=\r?\n|\f|$)",
                      re.IGNORECASE)
# Early 2013 letters number their items and write the decision as a sentence:
# "1. Acupuncture for the neck is not medically necessary and appropriate." (is -> overturned)
NUMBERED_DECISION = re.compile(
    r"^[ \t]*(?P<number>\d{1,2})[.)][ \t]+(?P<text>\S[\s\S]{0,600}?)\s+(?:is|are)\s+(?P<negation>not\s+)?"
    r"medically\s+necessary\s+and\s+appropriate\s*\.", re.IGNORECASE | re.MULTILINE)
# The labels of each part of an item block. Letters without the "... guideline:" labels open the
# part with its statement ("The Claims Administrator based its decision on ..."), which the
# citation reader needs: those alternatives match before it and take nothing.
CA_GUIDELINE = re.compile(r"Claims\s+Administrator\s+guideline\s*:"
                          r"|(?=\bThe\s+Claims\s+Administrator\s+based\s+(?:its|his|her|their)\s+decision\s+on\b)",
                          re.IGNORECASE)
REVIEWER_GUIDELINE = re.compile(r"(?:MAXIMUS|(?:Expert|Physician|Medical)\s+Reviewer(?:'s)?)\s+guideline\s*:"
                                r"|(?=\bThe\s+(?:Physician|Expert|Medical)\s+Reviewer\s+based\s+"
                                r"(?:his/her|his|her|its|their)\s+decision\s+on\b)", re.IGNORECASE)
# "Decision rationale:"; 2013 letters: "The Physician Reviewer's decision rationale:", "Rationale for the Decision:"
RATIONALE = re.compile(r"(?:The\s+(?:Physician|Expert|Medical)\s+Reviewer(?:'s|s'|s)?\s+)?Decision\s+rationale\s*:"
                       r"|Rationale\s+for\s+the\s+Decision\s*:", re.IGNORECASE)
PARTIAL = re.compile(
    r"^(?P<original>.+?)\s+was\s+the\s+original\s+request\.?\s+(?:"
    # "Y was authorized by the Claims Administrator. The remaining IMR eligible portion of the original request, Z"
    r"(?P<authorized>.+?)\s+was\s+(?:authorized|certified|approved)\b.*?\.\s+The\s+remaining\s+IMR\s+eligible\s+"
    r"portion\s+of\s+the\s+original\s+request"
    # "The Claims Administrator authorized Y, leaving the original request IMR eligible. The original request, Z"
    r"|The\s+Claims\s+Administrator\s+(?:authorized|certified|approved)\s+(?P<authorized_first>.+?),?\s+leaving\s+"
    r"the\s+original\s+request\s+IMR\s+eligible\.\s+The\s+original\s+request"
    r"),?\s*(?:is\s+)?(?P<remaining>.+?)(?:\s+is)?\s*$",
    re.IGNORECASE,
)
SENTENCE_END = (".", "!", "?")


class ItemReader:
    """Write one plain dict per disputed item to ``doc._.imr_items`` (see module docstring)."""

    def __init__(self, nlp: Language, name: str):
        self.name = name

    def __call__(self, doc: Doc) -> Doc:
        bounds = section_bounds(doc, "ISSUES")
        items: list[dict[str, Any]] = []
        if bounds:
            items = read_items(doc_text(doc), *bounds)
        doc._.imr_items = items
        spans = []
        for item in items:
            span = doc.char_span(item["text_start"], item["text_end"], label=item["decision"],
                                 alignment_mode="expand")
            if span is not None:
                spans.append(span)
        doc.spans[SPANS_KEY] = spans
        return doc


def _lines(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """(start, end) of each line in text[start:end], form feeds counting as line breaks and
    "\\r\\n" as one (text saved on Windows)."""
    out, pos = [], start
    for m in re.finditer(r"\r\n|[\n\f\r]", text[start:end]):
        out.append((pos, start + m.start()))
        pos = start + m.end()
    out.append((pos, end))
    return out


def _usual_blank_run(text: str, lines: list[tuple[int, int]]) -> int:
    """The most common number of blank lines between two text lines (1 in double-spaced text)."""
    runs, run, seen_text = Counter(), 0, False
    for s, e in lines:
        if text[s:e].strip():
            if seen_text:
                runs[run] += 1
            run, seen_text = 0, True
        else:
            run += 1
    return runs.most_common(1)[0][0] if runs else 0


def _item_text_start(text: str, lines: list[tuple[int, int]], line_no: int, floor: int,
                     usual_blank: int) -> int:
    """Walk back from the decision line to the first line of the item text."""
    start = lines[line_no][0]
    i = line_no - 1
    while i >= 0:
        blank = 0
        while i >= 0 and not text[lines[i][0]:lines[i][1]].strip():
            blank += 1
            i -= 1
        if i < 0 or lines[i][1] <= floor or blank > usual_blank:
            break
        previous = text[lines[i][0]:lines[i][1]].rstrip()
        if previous.endswith(SENTENCE_END):
            break
        start = lines[i][0]
        i -= 1
    # A partial certification may have a sentence end at a line end: take in its first sentences.
    head = text[start:lines[line_no][1]]
    if re.search(r"remaining\s+IMR\s+eligible", head, re.I) and not re.search(r"original\s+request\s*\.", head, re.I):
        backs = list(re.finditer(r"original\s+request", text[floor:start], re.I))  # may wrap
        if backs:
            back = floor + backs[-1].start()
            previous_end = max(text.rfind(".", floor, text.rfind("\n", floor, back) + 1), floor)
            start = previous_end + 1
    while start < len(text) and text[start].isspace():
        start += 1
    return start


def read_items(text: str, start: int, end: int) -> list[dict[str, Any]]:
    """Read the disputed items of the issues section ``text[start:end]``."""
    lines = _lines(text, start, end)
    usual_blank = _usual_blank_run(text, lines)
    line_starts = [s for s, _ in lines]
    intro = re.search(r"set\s+forth\s+below\s*:", text[start:end], re.IGNORECASE)
    floor = start + intro.end() if intro else start
    while floor < end and text[floor] in " \t":  # "set forth below: " (trailing space) still ends the intro line
        floor += 1
    decisions = [m for m in DECISION.finditer(text, floor, end)]
    if not decisions:
        return _numbered_items(text, floor, end)
    items: list[dict[str, Any]] = []
    text_starts: list[int] = []
    for m in decisions:
        line_no = max(i for i, s in enumerate(line_starts) if s <= m.start())
        item_floor = floor
        if items:
            previous = items[-1]
            item_floor = previous.get("_rationale_head") or previous["_decision_end"]
        text_starts.append(_item_text_start(text, lines, line_no, item_floor, usual_blank))
        items.append({"_decision_end": m.end(), "_colon": m.start(),
                      "decision": m["decision"].lower()})
        # Where this block's rationale starts bounds the next item's walk back.
        nxt = DECISION.search(text, m.end(), end)
        r = RATIONALE.search(text, m.end(), nxt.start() if nxt else end)
        items[-1]["_rationale_head"] = r.end() if r else None
    records = []
    for i, (item, text_start) in enumerate(zip(items, text_starts)):
        block_end = text_starts[i + 1] if i + 1 < len(items) else end
        records.append(_item_record(text, i, item, text_start, block_end))
    return records


def _numbered_items(text: str, start: int, end: int) -> list[dict[str, Any]]:
    """Items of the early 2013 layout: "1. <item> is not medically necessary and appropriate.",
    numbered 1, 2, 3... in order (a numbered list inside a rationale does not restart the count
    where the next item is due, and an item text holds no sentence end)."""
    found: list[re.Match[str]] = []
    pos = start
    while (m := NUMBERED_DECISION.search(text, pos, end)) is not None:
        if int(m["number"]) == len(found) + 1 and not re.search(r"[.:;]\s+[A-Z]", m["text"]):
            found.append(m)
            pos = m.end()
        else:  # not the item due next: look again from the next line
            pos = m.start() + 1
    records = []
    for i, m in enumerate(found):
        item = {"_decision_end": m.end(), "_colon": m.end("text"),
                "decision": "upheld" if m["negation"] else "overturned"}
        block_end = found[i + 1].start() if i + 1 < len(found) else end
        records.append(_item_record(text, i, item, m.start("text"), block_end))
    return records


def _strip(text: str, a: int, b: int) -> tuple[int, int]:
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    return a, b


def _item_record(text: str, index: int, item: dict[str, Any], text_start: int,
                 block_end: int) -> dict[str, Any]:
    text_start, text_end = _strip(text, text_start, item["_colon"])
    body = item["_decision_end"]
    ca, rev, rat = (rx.search(text, body, block_end) for rx in (CA_GUIDELINE, REVIEWER_GUIDELINE, RATIONALE))
    marks = sorted(m.start() for m in (ca, rev, rat) if m) + [block_end]

    def part(m: Optional[re.Match[str]]) -> tuple[Optional[int], Optional[int]]:
        if not m:
            return None, None
        stop = min(x for x in marks if x > m.start())
        a, b = _strip(text, m.end(), stop)
        return (a, b) if b > a else (None, None)

    record: dict[str, Any] = {
        "index": index,
        "decision": item["decision"],
        "block_start": text_start,
        "block_end": _strip(text, text_start, block_end)[1],
        "partial": None,
    }
    record["ca_guideline_start"], record["ca_guideline_end"] = part(ca)
    record["reviewer_guideline_start"], record["reviewer_guideline_end"] = part(rev)
    record["rationale_start"], record["rationale_end"] = part(rat)

    flat = collapse(text, text_start, text_end)
    partial = PARTIAL.match(flat.text)
    if partial:
        record["partial"] = {"original_request": one_line(partial["original"]),
                             "authorized": one_line(partial["authorized"] or partial["authorized_first"]),
                             "remaining": one_line(partial["remaining"])}
        text_start, text_end = flat.span(partial.start("remaining"), partial.end("remaining"))
    record["text_start"], record["text_end"] = text_start, text_end
    record["text"] = one_line(text[text_start:text_end])
    return {k: record[k] for k in (
        "index", "text", "decision", "text_start", "text_end", "block_start", "block_end",
        "ca_guideline_start", "ca_guideline_end", "reviewer_guideline_start", "reviewer_guideline_end",
        "rationale_start", "rationale_end", "partial")}


@Language.factory("imr_items")
def make_item_reader(nlp: Language, name: str) -> ItemReader:
    return ItemReader(nlp, name)
