"""``imr_abbreviations``: resolve abbreviations to long forms and give them their label.

Two sources, in this order of trust:
1. Definitions written in the letter itself, found by scispaCy's ``AbbreviationDetector``
   (Schwartz & Hearst 2003; ``make_serializable=True`` so ``doc._.abbreviations`` is a list of
   plain dicts and round-trips through DocBin): "transcutaneous electrical nerve stimulation
   (TENS)". A short form whose long form overlaps an entity span takes that span's label; a long
   form that overlaps none, defining a short form of the curated list, becomes a mention of that
   short form's label ("platelet-rich plasma (PRP)": TREATMENT both).
2. The curated IMR list ``resources/abbreviations.tsv`` (short form, case-sensitive -> long form,
   label or '-'): PT, ESI, TENS, NSAID, DDD, HEP, UDS ...

For every occurrence of a known short form in the letter body, an existing ``doc.spans["imr"]``
span on exactly those words gets ``Span._.imr_norm`` = long form; if no span of the abbreviation's
label is there, one is added (label '-' abbreviations such as NSAID, ROM only resolve, they are
not entities: ANNOTATION.md keeps drug classes out of DRUG).
"""
from __future__ import annotations

import warnings

from pathlib import Path
from typing import Optional

from scispacy.abbreviation import AbbreviationDetector
from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc, Span

from .entities import RESOURCES, SPANS_KEY, set_ents
from .word_view import body_range


def read_abbreviations(path: Path) -> dict[str, tuple[str, Optional[str]]]:
    out: dict[str, tuple[str, Optional[str]]] = {}
    for ln in path.read_text(encoding="utf8").splitlines():
        if not ln.strip() or ln.startswith("#"):
            continue
        short, long, label = (ln.split("\t") + ["", "-"])[:3]
        out[short.strip()] = (long.strip(), None if label.strip() in ("", "-") else label.strip())
    return out


class AbbreviationResolver:
    def __init__(self, nlp: Language, name: str, resources: Optional[str], detect: bool):
        self.name = name
        self.detect = detect
        self.detector = AbbreviationDetector(nlp, name=f"{name}_detector", make_serializable=True)
        self.curated = read_abbreviations(Path(resources or RESOURCES) / "abbreviations.tsv")
        self.matcher = PhraseMatcher(nlp.vocab, attr="ORTH")
        for short in self.curated:
            self.matcher.add(short, [nlp.make_doc(short)])

    def __call__(self, doc: Doc) -> Doc:
        doc._.abbreviations = []
        start, end = body_range(doc)
        group = list(doc.spans.get(SPANS_KEY, []))
        defined: dict[str, tuple[str, Optional[str]]] = {}
        if self.detect:
            with warnings.catch_warnings():
                # scispaCy's detector keeps an empty "global" Matcher (for its
                # find_all_abbreviations mode, unused here), and spaCy warns W036 on every call.
                warnings.filterwarnings("ignore", message=r"\[W036\]")
                self.detector(doc)
            for ab in doc._.abbreviations:
                long_span = doc[ab["long_start"]:ab["long_end"]]
                label = next((s.label_ for s in group if s.start < long_span.end and long_span.start < s.end
                              and s.label_ != "DOSE"), None)
                if label is None and ab["short_text"] in self.curated:
                    label = self.curated[ab["short_text"]][1]
                    if label and long_span.start_char >= start:
                        # "transcutaneous electrical neurostimulation (TENS)": the long form written
                        # out is a mention of the short form's kind
                        span = Span(doc, long_span.start, long_span.end, label=label)
                        span._.imr_norm = " ".join(ab["long_text"].split())
                        span._.imr_source = "abbreviation"
                        group.append(span)
                defined[ab["short_text"]] = (" ".join(ab["long_text"].split()), label)
        known = {**self.curated, **defined}
        by_pos = {(s.start, s.end, s.label_): s for s in group}
        for match_id, s, e in self.matcher(doc):
            short = doc.vocab.strings[match_id]
            self._resolve(doc, s, e, known[short], by_pos, group, start, end)
        for ab in doc._.abbreviations:
            short = ab["short_text"]
            if short not in self.curated:
                self._resolve(doc, ab["short_start"], ab["short_end"], defined[short], by_pos, group, start, end)
        group.sort(key=lambda s: (s.start, -s.end))
        doc.spans[SPANS_KEY] = group
        set_ents(doc)
        return doc

    @staticmethod
    def _resolve(doc, s, e, entry, by_pos, group, start, end) -> None:
        long, label = entry
        if doc[s].idx < start or doc[e - 1].idx >= end:
            return
        hit = False
        for span in group:
            if span.start == s and span.end == e:
                span._.imr_norm = span._.imr_norm or long
                hit = hit or span.label_ == label
        if label and not hit and not any(sp.label_ == label and sp.start <= s and e <= sp.end for sp in group):
            span = Span(doc, s, e, label=label)
            span._.imr_norm = long
            span._.imr_source = "abbreviation"
            group.append(span)
            by_pos[(s, e, label)] = span

    def to_disk(self, path, exclude=tuple()):
        pass

    def from_disk(self, path, exclude=tuple()):
        return self


@Language.factory("imr_abbreviations", default_config={"resources": None, "detect": True})
def make_abbreviation_resolver(nlp: Language, name: str, resources: Optional[str], detect: bool):
    return AbbreviationResolver(nlp, name, resources, detect)
