"""``imr_citations``: parse the "Claims Administrator guideline:" and "MAXIMUS guideline:"
paragraphs of each disputed item into :class:`GuidelineCitation` records.

A paragraph holds one or more statements "Decision based on MTUS <document> <year>,
Section(s): <sections>" or "Decision based on Non-MTUS Citation <ODG chapter>, <topics>" (or
another source); letters of 2013-14 also write "The Claims Administrator based its decision on
the MTUS ACOEM Practice Guidelines, 2nd Edition (2004), Chapter 12, pages 303-305" and "...
Chronic Pain Medical Treatment Guidelines, Opioids, pages 76-80, which is part of the MTUS"
(page numbers and that clause are dropped; topics after the last document are its sections). Document names come from a data file of the MTUS documents (with the ACOEM
chapters the MTUS adopted) and ODG chapters, because those are fixed sets and, unlike
punctuation, they separate "MTUS Acupuncture Treatment 2007, and Chronic Pain Medical Treatment
2016" into two documents reliably. A name from the list counts as a cited document where it opens
the statement or is followed by its edition year; elsewhere it is a section title. Unknown names
fall back to punctuation, so a new guideline is still read, only less finely.
"""
from __future__ import annotations

import json
import re
from functools import lru_cache
from importlib import resources
from typing import Any, Optional

from spacy.language import Language
from spacy.tokens import Doc

from ..text import doc_text, one_line

YEAR = r"(?:19|20)\d{2}"
NO_EVIDENCE = re.compile(r"did\s+not\s+cite\s+any\s+(?:medical\s+)?evidence", re.IGNORECASE)
# "Decision based on MTUS ...", and the 2013-14 wording "The Claims Administrator based its decision
# on the MTUS ...", "The Expert Reviewer based his/her decision on the Official Disability Guidelines"
# Early 2013 letters may name an MTUS guideline without the word MTUS ("based its decision on the
# Acupuncture Medical Treatment Guidelines, which is part of the MTUS").
STATEMENT = re.compile(r"\b(?:Decision\s+)?based\s+(?:(?:its|his/her|his|her|their)\s+(?:decision|determination)\s+)?"
                       r"on\s+(?:the\s+)?(?=(?:CA\s+|California\s+)?MTUS|Non-\s*MTUS|Official|ODG|ACOEM"
                       r"|(?:Chronic\s+Pain|Acupuncture|Post-?\s*Surgical|Opioids?)\s+(?:Medical\s+)?Treatment)",
                       re.IGNORECASE)
# A second source joined onto a statement without its own "Decision based on" ("...; and on the
# Non-MTUS Official Disability Guidelines ...", "... and ODG Pain Chapter") starts a new statement.
SOURCE_SWITCH = re.compile(r"(?:;|,?\s+and)\s+(?:also\s+)?(?:on\s+)?(?:the\s+)?"
                           r"(?=Non-\s*MTUS\b|Official\s+Disability\s+Guidelines?\b|ODG\b)", re.IGNORECASE)
# Page references and "which is part of the MTUS" name no document or section.
PAGES_AND_PART_OF = re.compile(r",?\s*\b(?:which|that)\s+(?:is|are)\s+(?:a\s+)?part\s+of\s+(?:the\s+)?(?:CA\s+)?MTUS\b"
                               r"|,?\s*\b(?:pages?\s*(?:\(s\))?|pgs?\.?|pp?\.)\s*\d+(?:\s*(?:-|–|to|and|,)\s*\d+)*",
                               re.IGNORECASE)
MTUS_HEAD = re.compile(r"^(?:the\s+)?(?:CA\s+|California\s+)?MTUS\b\s*(?:guidelines?\b)?[\s:,\-]*", re.IGNORECASE)
NON_MTUS_HEAD = re.compile(r"^Non-\s*MTUS\s*(?:Citations?)?\s*[:,\-]?\s*", re.IGNORECASE)
ACOEM_CHAPTER = re.compile(r"\b(?:ACOEM|American\s+College\s+of\s+Occupational\s+and\s+Environmental\s+Medicine)"
                           r"(?:\s+(?:Practice\s+)?Guidelines?)?,?\s*(?:(?:2nd|second)\s+edition,?\s*)?"
                           r"(?:\(?(?P<year>" + YEAR + r")\)?,?\s*)?(?:\(?Chapter\s+(?P<chapter>\d+)\)?)?[\s:,\-]*",
                           re.IGNORECASE)
ODG_HEAD = re.compile(r"^(?:the\s+)?(?:Official\s+Disability\s+Guidelines?(?:\s*\(ODG\))?|ODG(?:\s+guidelines?)?)"
                      r"(?:\s+(?:Treatment|TWC))?(?:[\s,]+\d+(?:st|nd|rd|th)\s+Edition)?"
                      r"(?:[\s,]+(?P<year>" + YEAR + r")\b)?\s*[:,\-–—]*\s*", re.IGNORECASE)
ACOEM_HEAD = re.compile(r"^(?:the\s+)?(?:American\s+College\s+of\s+Occupational\s+and\s+Environmental\s+Medicine"
                        r"\s*(?:\(ACOEM\))?|ACOEM)\s*[:,\-–—]*\s*", re.IGNORECASE)
ODG_SPLIT = re.compile(r"\s*(?:;|\.|,?\s+and\s+(?:Other\s+Medical\s+Treatment\s+Guidelines\s+)?|,)\s*"
                       r"(?=(?:the\s+)?(?:ODG\b|Official\s+Disability|ACOEM\b))", re.IGNORECASE)
CHAPTER_QUALIFIER = re.compile(
    r"(?:\s*[-–,]?\s*(?:Lumbar|Thoracic)(?:\s*(?:and|&)\s*(?:Lumbar|Thoracic))?|\s*(?:and|&)\s*Thoracic)?"
    r"(?:\s+Chapter)?(?:\s*\((?:Lumbar|Thoracic|Acute|Chronic)[^)]*\))?", re.IGNORECASE)
OTHER_TAIL = re.compile(r",?\s*(?:\(?\b(?:accessed|available\s+at|retrieved)\b.*|https?://.*|\d+(?:st|nd|rd|th)\s+ed(?:ition)?\b.*)$",
                        re.IGNORECASE)
UPDATED = re.compile(r"\s*\((?:updated|last\s+updated)[^)]*\)|\s*\b\d{1,2}/\d{1,2}/\d{2,4}\b|\s*\(?\bOnline\s+Version\b\)?|\bProcedure\s+Summary\b",
                     re.IGNORECASE)
SECTIONS = re.compile(r"\bSections?\s*\(s\)\s*:|\bSections?\s*:", re.IGNORECASE)


@lru_cache(maxsize=1)
def guideline_names() -> dict[str, Any]:
    """The document names in ``resources/guideline_sources.json`` (read once)."""
    with resources.files("imr_nlp.resources").joinpath("guideline_sources.json").open() as f:
        return json.load(f)


def _names_regex(names: list[str]) -> re.Pattern[str]:
    """Longest-first alternation of names, any whitespace inside, "and"/"&" interchangeable."""
    def one(name: str) -> str:
        pattern = ""
        for i, word in enumerate(name.split()):
            if word in ("-", "–"):
                pattern += r"\s*[-–—]\s*"
                continue
            w = r"(?:and|&)" if word.lower() in ("and", "&") else re.escape(word)
            pattern += (r"\s+" if i and not pattern.endswith(r"\s*") else "") + w
        return pattern
    alternation = "|".join(one(n) for n in sorted(names, key=len, reverse=True))
    return re.compile(r"(?<![\w-])(?:" + alternation + r")(?![\w-])", re.IGNORECASE)


@lru_cache(maxsize=1)
def _regexes() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    names = guideline_names()
    return (_names_regex(names["mtus_documents"]), _names_regex(names["odg_chapters"]),
            _names_regex(names["section_titles_with_comma"]))


def citation(source: str, document: Optional[str], year: Optional[int], sections: list[str]) -> dict[str, Any]:
    document = _clean(document) if document else None
    return {"source": source, "document": document or None, "year": year, "sections": sections}


def _clean(text: str) -> str:
    text = UPDATED.sub("", text)
    text = re.sub(r"\s*\bChapters?\b\s*", " ", text, flags=re.IGNORECASE)
    return text.strip(" ,.;:-–—")


def split_sections(text: str) -> list[str]:
    """Split "Special Studies, Summary" but keep "Opioids, criteria for use" whole: known comma
    titles are protected, and a comma followed by a lower-case word continues the title."""
    text = text.strip().rstrip(".").strip()
    if not text:
        return []
    _mtus, _odg, comma_titles = _regexes()
    text = comma_titles.sub(lambda m: m.group(0).replace(",", "\x00"), text)
    out: list[str] = []
    for chunk in re.split(r"\s*;\s*", text):
        for piece in re.split(r",\s*", chunk):
            piece = re.sub(r"^and\s+", "", piece.strip())
            if not piece:
                continue
            if out and piece[0].islower() and chunk.find(piece) > 0:
                out[-1] = f"{out[-1]}, {piece}"
            else:
                out.append(piece)
    numbered = re.compile(r"^\d+(?:\.\d+)+\b")
    if any(numbered.match(x) for x in out):
        # MTUS Opioid Treatment titles: "3.3.1.1 ...: ..., Prior to ...: ..." -- the unnumbered
        # piece continues the numbered title before it.
        merged: list[str] = []
        for x in out:
            if merged and not numbered.match(x):
                merged[-1] = f"{merged[-1]}, {x}"
            else:
                merged.append(x)
        out = merged
    seen, result = set(), []
    for s in out:
        s = s.replace("\x00", ",").strip(" .")
        if s.startswith("(") and s.endswith(")") and s.count("(") == 1:
            s = s[1:-1].strip()
        if s and s.lower() not in seen:
            seen.add(s.lower())
            result.append(s)
    return result


def parse_mtus(text: str) -> list[dict[str, Any]]:
    """"Shoulder Complaints 2004, Section(s): Special Studies, and Low Back Complaints 2004" etc."""
    mtus_docs, _odg, _comma = _regexes()
    chapter = ACOEM_CHAPTER.search(text)
    chapter_doc, chapter_year = None, None
    if chapter and chapter.start() == 0:
        text = text[chapter.end():]
        chapter_year = int(chapter["year"]) if chapter["year"] else None
        if chapter["chapter"]:
            chapter_doc = guideline_names()["acoem_chapters"].get(chapter["chapter"])
    has_sections = bool(SECTIONS.search(text))
    docs = []
    for m in mtus_docs.finditer(text):
        followed_by_year = re.match(r"\s*,?\s*\(?" + YEAR + r"\b", text[m.end():])
        if m.start() == 0 or followed_by_year or not has_sections:
            if docs and m.start() < docs[-1].end():
                continue
            docs.append(m)
    cites = []
    if not docs:
        head = re.match(r"(?P<doc>.*?)(?:,?\s*(?P<year>" + YEAR + r")\b|,|$)", text)
        doc = head["doc"] if head and head["doc"] else chapter_doc
        year = int(head["year"]) if head and head["year"] else chapter_year
        sec = SECTIONS.search(text)
        return [citation("MTUS", doc, year, split_sections(text[sec.end():]) if sec else [])]
    for i, m in enumerate(docs):
        tail = text[m.end(): docs[i + 1].start() if i + 1 < len(docs) else len(text)]
        year = re.match(r"\s*,?\s*\(?(" + YEAR + r")\b\)?", tail)  # "..., 2016", "... (2009)"
        sec = SECTIONS.search(tail)
        sections = []
        if sec:
            sections = split_sections(re.sub(r",?\s*(?:and)?\s*$", "", tail[sec.end():]))
        elif not has_sections and i + 1 == len(docs):
            # 2013-14 wording: the topics follow the last document ("..., Topical Analgesics")
            sections = split_sections((tail[year.end():] if year else tail).strip(" ,.;:-"))
        # an ACOEM edition year written before the chapter ("2nd Edition (2004), Chapter 12, Low Back
        # Complaints") is the year of the chapter named first
        edition = chapter_year if i == 0 and m.start() == 0 else None
        cites.append(citation("MTUS", m.group(0), int(year.group(1)) if year else edition, sections))
    return cites


def parse_odg(text: str, year: Optional[int] = None) -> list[dict[str, Any]]:
    """"Low Back Chapter, Iontophoresis" -> document "Low Back", sections ["Iontophoresis"];
    "Shoulder Chapter, Hand Chapter, Physical therapy" -> two documents with that section. A
    topic with no known chapter ("ODG MRI shoulder") has document None and is the section."""
    _mtus, odg_chapters, _comma = _regexes()
    text = UPDATED.sub("", text).strip(" ,.;:-–—")
    text = re.sub(r"^Chapters?\s*:\s*", "", text, flags=re.IGNORECASE)
    documents: list[str] = []
    rest = text
    while True:
        m = odg_chapters.match(rest)
        if not m:
            break
        end = CHAPTER_QUALIFIER.match(rest, m.end()).end()
        qualified_as_chapter = bool(re.search(r"\bChapter\b", rest[m.end():end], re.IGNORECASE))
        extra = re.match(r"\s*(Guidelines?)\b", rest[end:], re.IGNORECASE)
        documents.append(rest[:end] + (" " + extra.group(1) if extra else ""))
        rest = rest[end + (extra.end() if extra else 0):]
        marker = re.match(r"\s*\b(?:Chapters?|sections?)\b", rest, re.IGNORECASE)
        rest = rest[marker.end():] if marker else rest
        follow = re.match(r"\s*[,;/]\s*", rest)
        nxt = odg_chapters.match(rest, follow.end()) if follow else None
        if not ((marker or qualified_as_chapter) and nxt and re.match(r"\s*(?:Chapters?|sections?)\b", rest[nxt.end():], re.IGNORECASE)):
            break
        rest = rest[follow.end():]
    rest = rest.strip(" ,.;:-–—/")
    if not documents:
        named = re.match(r"((?:[A-Z][\w/-]*\s+){1,3}Guidelines)\b[\s,:;.-]*", rest)
        if named:  # ODG's own named guidelines: "Physical Therapy Guidelines", "Chiropractic Guidelines"
            documents.append(named.group(1))
            rest = rest[named.end():]
    sections = split_sections(re.sub(r"\s+[-–—]\s+|\s*/\s*", ", ", rest)) if rest else []
    if not documents:
        return [citation("ODG", None, year, sections)]
    return [citation("ODG", d, year, list(sections)) for d in documents]


def parse_other(text: str) -> dict[str, Any]:
    """ACOEM outside the MTUS, or any other source: the title, without edition, pages or access notes."""
    text = text.strip(" ,.;:")
    if ACOEM_HEAD.match(text):
        rest = ACOEM_HEAD.sub("", text, count=1)
        year = re.search(r"\b(" + YEAR + r")\b", rest)
        rest = re.sub(r"^(?:Occupational\s+Medicine\s+Practice\s+Guidelines?|Practice\s+Guidelines?|Guidelines?)\b[\s,.]*", "",
                      rest, flags=re.IGNORECASE)
        rest = re.sub(r"\b\d+(?:st|nd|rd|th)\s+ed(?:ition)?\.?|\(?" + YEAR + r"\)?|\bChapter\s+\d+\s*:?|"
                      r"\b(?:pg|pp?|page)\.?\s*\d+(?:-\d+)?", " ", rest, flags=re.IGNORECASE)
        rest = rest.strip(" ,.;:")
        known = _regexes()[0].search(rest)  # the ACOEM chapters are the MTUS-adopted names
        if known:
            document, tail = known.group(0), rest[known.end():]
        else:
            document, _, tail = rest.partition(",")
        sections = split_sections(tail.strip(" ,.;:")) if tail.strip(" ,.;:") else []
        return citation("ACOEM", document.strip() or None, int(year.group(1)) if year else None, sections)
    year = re.search(r"(?<![/\d-])\(?(" + YEAR + r")\)?(?![/\d-])", text)
    title = OTHER_TAIL.sub("", text).strip(" ,.;:")
    return citation("OTHER", _other_title(title) or title or text, int(year.group(1)) if year else None, [])


def _other_title(text: str) -> str:
    """An OTHER citation's document without its issuer or year (ANNOTATION.md: "without the source
    name or year"): "American Diabetes Association (ADA): Standards of Medical Care in Diabetes -
    2014" -> "Standards of Medical Care in Diabetes"; "..., U.S. Food and Drug Administration" and
    "What is an electrocardiogram? National Heart, Lung, and Blood Institute, ..." lose their
    publisher. An issuer is cut only where a boundary marks it (its abbreviation in parentheses,
    a colon or comma), so a title that opens with a society's name stays whole."""
    title = _OTHER_ISSUER_HEAD.sub("", text, count=1)
    title = _OTHER_ISSUER_TAIL.sub("", title)
    title = re.sub(r"\s*[-–,]?\s*\(?\b" + YEAR + r"\b\)?", "", title)
    return re.sub(r"\s{2,}", " ", title).strip(" ,.;:-–")


def _issuer_pattern() -> str:
    """A society or public body by its form (guideline_sources.json "organizations", as the entity
    rules find them): a first word, capitalised words (commas and "and" between them: "National
    Heart, Lung, and Blood"), a kind word, then "of"/"for"/"on" and its name."""
    orgs = guideline_names()["organizations"]
    return (r"(?:" + "|".join(re.escape(f) for f in orgs["first"]) + r")(?:,?\s+(?:[A-Z][\w'.-]*|and|&))*?\s+"
            r"(?:" + "|".join(orgs["kinds"]) + r")"
            r"(?:\s+(?:of|for|on)\s+(?:[A-Z][\w'.-]*|and|&)(?:\s+(?:[A-Z][\w'.-]*|and|&))*)?")


_ISSUER = _issuer_pattern()
_ABBREVIATION = r"\([A-Z][A-Za-z/&]{1,10}\)"
_OTHER_ISSUER_HEAD = re.compile(
    r"^(?:the\s+)?(?:" + _ISSUER + r"\s*(?:" + _ABBREVIATION + r")?\s*[:,]\s*"
    r"|" + _ISSUER + r"\s*" + _ABBREVIATION + r"\s*"
    r"|(?:Aetna|UpToDate|JNC\s*\d+|ACC/AHA)\b[\s:,]*)")
_OTHER_ISSUER_TAIL = re.compile(
    r"(?:,|(?<=\?))\s*(?:accessed\s+from\s+)?(?:(?:the\s+)?(?:U\.\s?S\.|United\s+States)\s+Food\s+and\s+Drug\s+"
    r"Administration|FDA|" + _ISSUER + r")\b.*$")


def _odg_chapter_chunks(text: str) -> list[str]:
    """"Low back, Manipulation; Neck and Upper back, Manipulation" cites two ODG chapters."""
    _mtus, odg_chapters, _comma = _regexes()
    chunks: list[str] = []
    for piece in re.split(r"\s*;\s*", text):
        if chunks and not odg_chapters.match(piece):
            chunks[-1] = f"{chunks[-1]}; {piece}"
        else:
            chunks.append(piece)
    return chunks


def parse_non_mtus(text: str) -> list[dict[str, Any]]:
    _mtus, odg_chapters, _comma = _regexes()
    cites = []
    for part in ODG_SPLIT.split(text):
        part = part.strip(" ,.;")
        if not part:
            continue
        head = ODG_HEAD.match(part)
        if head and head.group(0).strip():
            year = int(head["year"]) if head["year"] else None
            for chunk in _odg_chapter_chunks(part[head.end():]):
                cites += parse_odg(chunk, year)
        elif odg_chapters.match(part):
            cites += parse_odg(part)
        else:
            cites.append(parse_other(part))
    return cites


def parse_guideline(text: str) -> list[dict[str, Any]]:
    """All citations in one guideline paragraph, in order; [] when no evidence was cited."""
    flat = one_line(text)
    statements = list(STATEMENT.finditer(flat))
    if not statements:
        return []
    # (start, end of the text before it) of every statement, the joined-on sources included
    bounds = [(m.end(), m.start()) for m in statements]
    bounds += [(m.end(), m.start()) for m in SOURCE_SWITCH.finditer(flat) if m.start() > statements[0].end()]
    bounds = sorted(dict(bounds).items())  # one statement per start
    cites: list[dict[str, Any]] = []
    for i, (start, _) in enumerate(bounds):
        end = bounds[i + 1][1] if i + 1 < len(bounds) else len(flat)
        statement = PAGES_AND_PART_OF.sub("", STATEMENT.sub("", flat[start:end])).strip().rstrip(".")
        statement = re.sub(r"\s*(?:Decision\s+)?based\s+on\s*$", "", statement, flags=re.IGNORECASE)
        if NON_MTUS_HEAD.match(statement):
            cites += parse_non_mtus(NON_MTUS_HEAD.sub("", statement, count=1))
        elif MTUS_HEAD.match(statement) or _regexes()[0].match(statement):  # "MTUS ...", "Chronic Pain ..."
            cites += parse_mtus(MTUS_HEAD.sub("", statement, count=1))
        else:
            cites += parse_non_mtus(statement)
    return cites


class CitationParser:
    """Add ``claims_administrator_guidelines`` and ``reviewer_guidelines`` to each item dict."""

    def __init__(self, nlp: Language, name: str):
        self.name = name

    def __call__(self, doc: Doc) -> Doc:
        for item in doc._.imr_items or []:
            for key, prefix in (("claims_administrator_guidelines", "ca"), ("reviewer_guidelines", "reviewer")):
                start, end = item.get(f"{prefix}_guideline_start"), item.get(f"{prefix}_guideline_end")
                item[key] = parse_guideline(doc_text(doc)[start:end]) if start is not None else []
        return doc


@Language.factory("imr_citations")
def make_citation_parser(nlp: Language, name: str) -> CitationParser:
    return CitationParser(nlp, name)
