"""The *word view* of a letter's body: the text the rule components match on.

PDF-extracted letters are hard-wrapped, double-spaced and split words with a hyphen at line
ends ("x-\\nray"), so a lexicon phrase or a Matcher pattern run on the Doc's own tokens would
miss every term that crosses a line. The word view is the body (CLINICAL CASE SUMMARY onwards)
with whitespace runs collapsed to one space and line-end hyphen breaks joined, re-tokenized with
the pipeline's tokenizer, and a char map back to the original text, so a match in the view
becomes a span of the real Doc (:meth:`WordView.to_span`).

``imr_entities`` and ``imr_doses`` read the same view; :func:`get_word_view` builds it once per
Doc.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from typing import Iterable, Optional

from spacy.matcher import Matcher
from spacy.tokens import Doc, Span

from ..text import collapse, doc_text

BODY_SECTIONS = ("SUMMARY", "ISSUES")


def body_range(doc: Doc) -> tuple[int, int]:
    """Char range of the letter body: the SUMMARY and ISSUES sections, else the whole text."""
    group = doc.spans.get("imr_sections") if doc.spans is not None else None
    if group:
        parts = [s for s in group if s.label_ in BODY_SECTIONS]
        if parts:
            return min(s.start_char for s in parts), max(s.end_char for s in parts)
    text = doc_text(doc)
    m = re.search(r"CLINICAL\s+CASE\s+SUMMARY", text)
    return (m.start() if m else 0), len(text)


@dataclass
class WordView:
    """The body text with whitespace collapsed and line-end hyphen breaks joined, tokenized."""

    doc: Doc            # tokenized collapsed text
    offsets: list[int]  # offsets[i] = original char offset of collapsed char i
    source: Doc
    text: str = ""      # the collapsed text (cached: Doc.text rebuilds the string on each access)

    @cached_property
    def lower(self) -> list[str]:
        """The lower-cased text of each token, made once for the rules of both imr_entities and
        imr_doses (reading it off the Doc makes a Python Token per word)."""
        return [t.lower_ for t in self.doc]

    def to_span(self, start_tok: int, end_tok: int, label: str) -> Optional[Span]:
        """The span of the real Doc under view tokens ``[start_tok, end_tok)``, without trailing
        punctuation (ANNOTATION.md: a trailing period or comma is not part of a mention); None
        where nothing is left."""
        if end_tok <= start_tok:
            return None
        a = self.doc[start_tok].idx
        last = self.doc[end_tok - 1]
        b = last.idx + len(last.text)
        while b > a and self.text[b - 1] in ".,;:":
            b -= 1
        if b <= a:
            return None
        return self.source.char_span(self.offsets[a], self.offsets[b - 1] + 1, label=label,
                                     alignment_mode="expand")

    def char_to_span(self, a: int, b: int, label: str) -> Optional[Span]:
        """The span of the real Doc under view characters ``[a, b)``."""
        if b <= a:
            return None
        return self.source.char_span(self.offsets[a], self.offsets[b - 1] + 1, label=label,
                                     alignment_mode="expand")


_VIEW_CACHE: dict[int, tuple[Doc, int, int, WordView]] = {}
_VIEW_CACHE_SIZE = 8  # entities and doses run on a Doc one right after the other (also in nlp.pipe)


def get_word_view(nlp_tokenizer, doc: Doc, start: Optional[int] = None, end: Optional[int] = None) -> WordView:
    """The word view of ``doc`` over ``[start, end)`` (default: the letter body), built once per Doc.

    ``imr_entities`` and ``imr_doses`` read the same view, so the body is collapsed and
    re-tokenized once per letter. The cache holds the last few Docs (by identity)."""
    if start is None or end is None:
        start, end = body_range(doc)
    hit = _VIEW_CACHE.get(id(doc))
    if hit is not None and hit[0] is doc and hit[1] == start and hit[2] == end:
        return hit[3]
    view = make_word_view(nlp_tokenizer, doc, start, end)
    if len(_VIEW_CACHE) >= _VIEW_CACHE_SIZE:
        _VIEW_CACHE.pop(next(iter(_VIEW_CACHE)))
    _VIEW_CACHE[id(doc)] = (doc, start, end, view)
    return view


def make_word_view(nlp_tokenizer, doc: Doc, start: int, end: int) -> WordView:
    """A new word view of ``doc``'s characters ``[start, end)`` (uncached: also for a citation
    line outside the body)."""
    view = collapse(doc_text(doc), start, end, join_hyphens=True)
    return WordView(nlp_tokenizer(view.text), view.offsets, doc, view.text)


def match_in_windows(matcher: Matcher, doc: Doc, starts: Iterable[int], width: int) -> list[tuple[int, int, int]]:
    """``matcher`` run only on the windows ``[i, i + width)`` of ``doc`` at the token indexes
    ``starts`` (merged where they overlap), as (match_id, start, end) in ``doc``.

    spaCy's Matcher visits every token of what it is given, in Python, and evaluates its REGEX
    predicates per token: over a whole letter that is most of a rule component's time, while
    the tokens a pattern can start at (a spinal level, "MTUS", a number) are few and cheap to find.
    ``width`` must cover the longest match that starts at a window's first token."""
    n = len(doc)
    windows: list[list[int]] = []
    for i in sorted(starts):
        a, b = i, min(n, i + width)
        if windows and a <= windows[-1][1]:
            windows[-1][1] = max(windows[-1][1], b)
        else:
            windows.append([a, b])
    out = []
    for a, b in windows:
        out.extend((mid, s + a, e + a) for mid, s, e in matcher(doc[a:b]))
    return out
