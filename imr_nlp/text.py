"""Text helpers shared by the rule components: PDF-extracted letters are hard-wrapped, sometimes
double-spaced, and split words with hyphens at line ends, so rules read a whitespace-collapsed
view of a region and map what they find back to character offsets in the original text."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:
    from spacy.tokens import Doc

_TEXT_KEY = "imr_nlp.text"


def doc_text(doc: "Doc") -> str:
    """``doc.text``, joined once per Doc and kept in ``doc.user_data``.

    ``Doc.text`` builds a Python ``Token`` for every token on each access, and the components
    read the text of a letter many times (per item, per citation, per model span): for a
    four-page letter that was a tenth of the pipeline's time. No component changes the tokens'
    text, so the joined string stays valid for the Doc's life.
    """
    text = doc.user_data.get(_TEXT_KEY)
    if text is None:
        text = doc.user_data[_TEXT_KEY] = doc.text
    return text


# Counts written as words, as the letters write quantities ("Six sessions", "twelve visits").
NUMBER_WORDS = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
                "fifteen", "sixteen", "eighteen", "twenty", "thirty"]

_WS = re.compile(r"\s+")
# One-for-one character replacements that make extracted text look like the letters the rules and
# the recognizer learnt from: no-break and other Unicode spaces -> " ", curly quotes -> straight.
# Hyphen and en dash variants -> "-" ("x\u2013ray", "L4\u20135", "pages 76\u201380").
_PLAIN_CHARS = str.maketrans({**{c: " " for c in "\u00a0\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
                                                 "\u2008\u2009\u200a\u202f\u205f\u3000"},
                              **{c: "-" for c in "\u2010\u2011\u2012\u2013"},
                              "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})
# Glyphs some PDF extractors leave that are not one character for one: typographic ligatures
# ("signi\ufb01cant") are spelt out; soft hyphens and zero-width characters go.
_PDF_GLYPHS = str.maketrans({"\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl",
                             "\ufb05": "st", "\ufb06": "st", "\u00ad": None, "\u200b": None, "\u200c": None,
                             "\u200d": None, "\u2060": None, "\ufeff": None})


def plain_chars(text: str) -> str:
    """``text`` with Unicode spaces, hyphens and curly quotes made plain, one character for one (offsets
    stay valid): "QTY:\\u00a01.00", "de Quervain\\u2019s" -> "QTY: 1.00", "de Quervain's"."""
    return text.translate(_PLAIN_CHARS)


def spelt_out_glyphs(text: str) -> str:
    """``text`` with ligatures spelt out and soft hyphens and zero-width characters removed (not
    one for one): "signi\\ufb01cant \\ufb02exion" -> "significant flexion"."""
    return text.translate(_PDF_GLYPHS)


_LINE_END_HYPHEN = re.compile(r"(?<=\w)-[ \t]*\r?\n\s*(?=\w)")  # also "\r\n" (Windows)


@dataclass(frozen=True)
class Collapsed:
    """A whitespace-collapsed copy of ``original[start:end]`` with a map back to offsets.

    ``offsets[i]`` is the position in the original text of ``text[i]``, so a match found in the
    collapsed text at ``[a, b)`` is ``[offsets[a], offsets[b - 1] + 1)`` in the original.
    """

    text: str
    offsets: list[int]

    def span(self, a: int, b: int) -> tuple[int, int]:
        """Original ``(start, end)`` of collapsed ``[a, b)`` (``b > a``)."""
        return self.offsets[a], self.offsets[b - 1] + 1


def collapse(original: str, start: int = 0, end: Optional[int] = None, join_hyphens: bool = False) -> Collapsed:
    """Collapse every run of whitespace in ``original[start:end]`` to one space and strip ends;
    with ``join_hyphens``, also rejoin words split by a line-end hyphen ("x-\\nray" -> "x-ray")."""
    end = len(original) if end is None else end
    chars: list[str] = []
    offsets: list[int] = []
    pending_space = False
    i = start
    while i < end:
        ch = original[i]
        if join_hyphens and ch == "-" and chars:
            m = _LINE_END_HYPHEN.match(original, i)
            if m and m.end() <= end:
                chars.append("-")
                offsets.append(i)
                i = m.end()
                pending_space = False
                continue
        if ch.isspace():
            pending_space = bool(chars)
            i += 1
            continue
        if pending_space:
            chars.append(" ")
            offsets.append(i - 1)
            pending_space = False
        chars.append(ch)
        offsets.append(i)
        i += 1
    return Collapsed("".join(chars), offsets)


def one_line(text: str) -> str:
    """Join a hard-wrapped phrase onto one line: rejoin words split by a line-end hyphen
    ("right-\\nsided" -> "right-sided") and collapse whitespace."""
    text = _LINE_END_HYPHEN.sub("-", text)
    return _WS.sub(" ", text).strip()


_MONTHS = {m: i + 1 for i, m in enumerate(
    ["january", "february", "march", "april", "may", "june", "july", "august", "september",
     "october", "november", "december"])}
_MONTHS.update({m[:3]: i for m, i in list(_MONTHS.items())})
_MONTHS["sept"] = 9

DATE_PATTERN = (
    r"(?:\d{1,2}[/-]\d{1,2}[/-](?:\d{4}|\d{2})(?!\d)"
    r"|\d{4}-\d{2}-\d{2}"
    r"|(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?\s+\d{1,2},?\s+\d{4})"
)


def parse_date(text: str) -> Optional[date]:
    """Parse the date formats IMR letters use: 11/09/2016, 3/9/10, 10-13-16, 2016-11-09,
    August 20, 2009. Two-digit years are 19xx above 30, else 20xx. ``None`` if not a date."""
    text = text.strip().rstrip(".,")
    try:
        m = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", text)
        if m:
            return date(int(m[1]), int(m[2]), int(m[3]))
        m = re.fullmatch(r"(\d{1,2})[/-](\d{1,2})[/-](\d{4}|\d{2})", text)
        if m:
            year = int(m[3])
            if year < 100:
                year += 1900 if year > 30 else 2000
            return date(year, int(m[1]), int(m[2]))
        m = re.fullmatch(r"([A-Za-z]+)\.?\s+(\d{1,2}),?\s+(\d{4})", text)
        if m and m[1].lower() in _MONTHS:
            return date(int(m[3]), _MONTHS[m[1].lower()], int(m[2]))
    except ValueError:
        return None
    return None
