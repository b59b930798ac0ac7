"""``imr_assertion``: mark entity spans negated or hypothetical (ConText-style).

After ConText (Harkema, Dowling, Thornblade & Chapman, J Biomed Inform 2009) and medspaCy's
``context`` package: rules are data (``resources/assertion_rules.json``: literal cue, category,
direction, optional window); a cue modifies the entity spans of the configured labels that lie in
its direction within the same sentence (here: the same line-joined clause, ended by a sentence
full stop, a termination word or the window of words). Writes ``Span._.imr_assertion`` =
"present" | "negated" | "hypothetical" on the spans of ``doc.spans["imr"]``. NEGATED wins over
HYPOTHETICAL when both cues reach a span. Gold keeps negated/hypothetical conditions as entities
(ANNOTATION.md), so nothing is removed.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Optional

import numpy
from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc

from .entities import RESOURCES, SPANS_KEY

_SENT_END = re.compile(r"[.!?]$")


class ContextAssertion:
    def __init__(self, nlp: Language, name: str, resources: Optional[str]):
        self.name = name
        data = json.loads((Path(resources or RESOURCES) / "assertion_rules.json").read_text(encoding="utf8"))
        self.window = int(data.get("window", 8))
        # in file order: spaCy writes a component's labels into meta.json, which should not change
        # from one save to the next
        self.labels = tuple(data["labels"])
        self.termination = {w.lower() for w in data["termination"]}
        self.rules: dict[str, dict] = {}
        self.matcher = PhraseMatcher(nlp.vocab, attr="LOWER")
        for i, rule in enumerate(data["rules"]):
            key = f"CUE_{i}"
            self.rules[key] = rule
            self.matcher.add(key, [nlp.make_doc(rule["literal"])])

    def __call__(self, doc: Doc) -> Doc:
        spans = [s for s in doc.spans.get(SPANS_KEY, []) if s.label_ in self.labels]
        if not spans:
            return doc
        # the words (non-space tokens) as token indexes; Token objects are made only inside cue
        # windows (making one per token of a letter was most of this component's time)
        word_tokens = numpy.flatnonzero(doc.to_array("IS_SPACE") == 0)
        n_words = len(word_tokens)

        def pos(token_i: int) -> int:  # token index -> word index (0 for a space token)
            k = int(numpy.searchsorted(word_tokens, token_i))
            return k if k < n_words and word_tokens[k] == token_i else 0

        def word(k: int):
            return doc[int(word_tokens[k])]

        status: dict[int, str] = {}
        cues = []
        for match_id, s, e in self.matcher(doc):
            cues.append((s, e, self.rules[doc.vocab.strings[match_id]]))
        # longest cue wins where cues overlap ("no evidence of" over "no")
        cues.sort(key=lambda c: (c[0], -(c[1] - c[0])))
        used: set[int] = set()
        kept = []
        for s, e, rule in cues:
            if any(i in used for i in range(s, e)):
                continue
            used.update(range(s, e))
            kept.append((s, e, rule))
        for s, e, rule in kept:
            window = int(rule.get("window", self.window))
            if rule["direction"] == "forward":
                lo = pos(e - 1) + 1
                hi = lo
                while hi < n_words and hi - lo < window:
                    w = word(hi)
                    if w.lower_ in self.termination or _is_sentence_end(w):
                        break
                    hi += 1
                rng = (int(word_tokens[lo]) if lo < n_words else len(doc),
                       int(word_tokens[hi - 1]) + 1 if hi > lo else 0)
            else:
                hi = pos(s) - 1
                lo = hi
                while lo >= 0 and hi - lo < window:
                    w = word(lo)
                    if w.lower_ in self.termination or _is_sentence_end(w):
                        break
                    lo -= 1
                rng = (int(word_tokens[lo + 1]) if lo + 1 <= hi else len(doc),
                       int(word_tokens[hi]) + 1 if hi >= 0 else 0)
            for k, span in enumerate(spans):
                if span.start >= rng[0] and span.end <= rng[1]:
                    cat = "negated" if rule["category"] == "NEGATED" else "hypothetical"
                    if status.get(k) != "negated":
                        status[k] = cat
        for k, span in enumerate(spans):
            span._.imr_assertion = status.get(k, "present")
        # write back so the values live on the stored group
        group = list(doc.spans[SPANS_KEY])
        lookup = {(s.start, s.end, s.label_): s._.imr_assertion for s in spans}
        for s in group:
            if (s.start, s.end, s.label_) in lookup:
                s._.imr_assertion = lookup[(s.start, s.end, s.label_)]
        return doc

    def to_disk(self, path, exclude=tuple()):
        pass

    def from_disk(self, path, exclude=tuple()):
        return self


def _is_sentence_end(tok) -> bool:
    # "." after an abbreviation-like or number token (e.g. "Dr.", "2.5") is not a sentence end
    return tok.text in {".", "!", "?"} and tok.i > 0 and not tok.nbor(-1).like_num and len(tok.nbor(-1).text) > 2


@Language.factory("imr_assertion", default_config={"resources": None})
def make_context_assertion(nlp: Language, name: str, resources: Optional[str]) -> ContextAssertion:
    return ContextAssertion(nlp, name, resources)
