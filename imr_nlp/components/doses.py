"""``imr_doses``: strengths, quantities, frequencies and routes, linked to their drug; item fields.

Matcher patterns over the word view of the letter body (see ``word_view.py``):

- DOSE (a strength with its unit: "8 mg", "8MG", "10/325 mg", "5%", "7.5mg", "10%/5%/5%",
  "0.5 mg/kg", "25 mcg/hr", "800mg/26.6mg") goes
  to ``doc.spans["imr"]`` (label DOSE) and ``doc.spans["imr_doses"]``. A number with a unit that
  is not a strength (mA, cc of a volume, grams of a tube: "240g"; an opioid threshold "80 mg/day
  MED") is not a DOSE.
- QUANTITY ("#60", "QTY: 1.00", "12 sessions", "x 6", "times 12", "(6 TREATMENTS)"),
  FREQUENCY ("BID", "twice a day", "2 times a week for 4 weeks", "three times a week"),
  ROUTE ("by mouth", "PO", "topical", "transdermal") go to ``doc.spans["imr_doses"]``.

The Matcher runs only on short windows that start with a possible first token (a number, "#",
"QTY", a frequency or route word), and the word view is the one ``imr_entities`` built.

Each DOSE is linked to its drug: the nearest DRUG span before it in the same sentence-ish window
(up to 6 words back, no line of another item between), else the nearest DRUG right after it.
The link is ``Span._.imr_drug`` (the drug's text) on the DOSE span.

Item fields (contract): for each dict of ``doc._.imr_items``, from the spans inside
``[text_start, text_end)``: ``treatment`` (first TREATMENT, None for a drug request), ``drugs``
(DRUG texts, in order, distinct), ``dose`` (strengths joined with "/" in ingredient order),
``quantity`` (a count the item opens with, a frequency with its duration, else the first
quantity), ``frequency``, ``route`` (first of each, as written), ``body_parts``. Where neither a
TREATMENT nor a DRUG is found in the item, the name it opens with is a drug if the item has a
strength, a "#" count or a dosage form (``unnamed_drug``), else a service (``unnamed_service``);
either is also added to ``doc.spans["imr"]`` as a mention.
"""
from __future__ import annotations

import re
from typing import Any, Optional

from scispacy.abbreviation import find_abbreviation
from spacy.language import Language
from spacy.matcher import Matcher
from spacy.tokens import Doc, Span

from ..text import NUMBER_WORDS, doc_text, one_line
from .entities import SALT_OR_FORM, SPANS_KEY, set_ents
from .word_view import WordView, body_range, get_word_view, match_in_windows

DOSES_KEY = "imr_doses"
Span.set_extension("imr_drug", default=None, force=True)

STRENGTH_UNITS = ["mg", "mgs", "mcg", "µg", "ug", "ml", "mL", "%", "mg/ml",
                  "mg/hr", "mcg/hr", "mcg/h", "mg/g", "iu", "units", "unit", "meq", "mg/5ml"]
NUM = r"^(?:\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(/\d+(\.\d+)?)*$"  # "50,000 IU"
NUM_UNIT = r"^\d+(\.\d+)?(/\d+(\.\d+)?)*(mg|mgs|mcg|ug|ml|%|iu|percent)(/(\d+(\.\d+)?)?(mg|ml|hr|h|g))?$"
PCT_CHAIN = r"^\d+(\.\d+)?%(/\d+(\.\d+)?%)+$"
PCT_CHAIN_HEAD = r"^\d+(\.\d+)?%(/\d+(\.\d+)?%)*/\d+(\.\d+)?$"
WORDNUM = NUMBER_WORDS + ["once", "twice", "thrice", "1x", "2x", "3x"]
COUNT = {"TEXT": {"REGEX": r"^\d+(\.\d+)?$"}}
COUNT_OR_WORD = [{"TEXT": {"REGEX": r"^\d+(-\d+)?$"}}, {"LOWER": {"IN": WORDNUM}}]
SESSION_WORDS = ["sessions", "session", "visits", "visit", "treatments", "treatment", "units", "unit",
                 "tablets", "tabs", "capsules", "caps", "patches", "refills", "refill", "injections",
                 "bottles", "tubes", "months", "month", "weeks", "days", "pills"]
FREQ_ABBR = ["bid", "b.i.d", "b.i.d.", "tid", "t.i.d", "t.i.d.", "qid", "q.i.d", "q.i.d.", "qd", "q.d", "q.d.",
             "qhs", "q.h.s", "hs", "prn", "p.r.n", "p.r.n.", "daily", "nightly", "weekly", "monthly", "q4h",
             "q6h", "q8h", "q12h", "q4-6h", "q6-8h", "qam", "qpm", "q.a.m", "q.p.m"]
ROUTES = ["po", "p.o", "p.o.", "oral", "orally", "topical", "topically", "transdermal", "sublingual",
          "intramuscular", "im", "intravenous", "iv", "subcutaneous", "intranasal", "rectal"]


def _patterns() -> dict[str, list[list[dict[str, Any]]]]:
    unit = {"LOWER": {"IN": [u.lower() for u in STRENGTH_UNITS]}}
    per_unit = {"LOWER": {"IN": ["kg", "hr", "h", "hour", "day", "g", "gm", "ml", "dose", "actuation", "spray"]}}
    per = [{"LOWER": {"IN": ["a", "per", "each", "every", "/"]}}]
    period = {"LOWER": {"IN": ["day", "week", "weeks", "month", "days", "night", "daily", "hours", "hour"]}}
    times = {"LOWER": {"IN": ["times", "time", "x", "visits", "sessions", "treatments"]}}
    return {
        "DOSE": [
            [{"TEXT": {"REGEX": NUM}}, unit, {"ORTH": "/"}, per_unit],  # "0.5 mg/kg", "25 mcg/hr"
            [{"LOWER": {"REGEX": NUM_UNIT}}, {"ORTH": "/"}, {"TEXT": {"REGEX": NUM}}, unit],  # "800mg/26.6mg"
            [{"LOWER": {"REGEX": NUM_UNIT}}, {"ORTH": "/"}, {"LOWER": {"REGEX": NUM_UNIT}}],  # "48mg/6mL"
            [{"LOWER": {"REGEX": NUM_UNIT}}, {"ORTH": "/"}, per_unit],  # "300mg/g"
            # a compound's strengths joined by hyphens: "320.5-30-16mg", "5-325 mg"
            [{"TEXT": {"REGEX": NUM}}, {"ORTH": "-"}, {"TEXT": {"REGEX": NUM}}, {"ORTH": "-"},
             {"TEXT": {"REGEX": NUM}}, unit],
            [{"TEXT": {"REGEX": NUM}}, {"ORTH": "-"}, {"TEXT": {"REGEX": NUM}}, unit],
            [{"TEXT": {"REGEX": NUM}}, unit],
            [{"TEXT": {"REGEX": NUM}}, {"ORTH": "%"}, {"ORTH": "/"}, {"TEXT": {"REGEX": NUM}}, {"ORTH": "%"}],
            [{"TEXT": {"REGEX": NUM_UNIT}, "LOWER": {"REGEX": NUM_UNIT}}],
            [{"LOWER": {"REGEX": NUM_UNIT}}],
            [{"TEXT": {"REGEX": PCT_CHAIN}}],
            [{"TEXT": {"REGEX": PCT_CHAIN_HEAD}}, {"ORTH": "%"}],  # "10%/5%/5%" is tokenized "10%/5%/5" "%"
        ],
        "QUANTITY": [
            [{"ORTH": "#"}, {"TEXT": {"REGEX": r"^\d+(\.\d+)?$"}}],
            [{"TEXT": {"REGEX": r"^#\d+(\.\d+)?$"}}],
            [{"LOWER": {"IN": ["qty", "quantity"]}}, {"ORTH": ":", "OP": "?"}, {"TEXT": {"REGEX": r"^\d+(\.\d+)?$"}}],
            [{"LOWER": {"IN": ["times", "x"]}}, COUNT],
            [{"LOWER": {"IN": ["times", "x"]}}, COUNT, {"LOWER": {"IN": SESSION_WORDS}}],  # "x 14 days"
            [{"TEXT": {"REGEX": r"^[xX]\d+$"}}],
            [COUNT_OR_WORD[0], {"LOWER": {"IN": SESSION_WORDS}}],
            [COUNT, {"ORTH": "-"}, COUNT, {"LOWER": {"IN": SESSION_WORDS}}],  # "1-2 visits"
            [COUNT_OR_WORD[1], {"LOWER": {"IN": SESSION_WORDS}}],
            [{"LOWER": {"IN": WORDNUM}}, {"LOWER": "additional", "OP": "?"}, {"LOWER": {"IN": SESSION_WORDS}}],
            # "one month supply", "30-day supply", "21 day rental", "three months coverage"
            *[[c, {"ORTH": "-", "OP": "?"}, {"LOWER": {"IN": ["day", "days", "week", "weeks", "month", "months"]}},
               {"LOWER": {"IN": ["supply", "trial", "rental", "coverage"]}}] for c in COUNT_OR_WORD],
            # "80 hours" (of a program)
            *[[c, {"LOWER": {"IN": ["hours"]}}] for c in COUNT_OR_WORD],
            # "one week", "1 times 6", "240g" (a tube of cream)
            *[[c, {"LOWER": {"IN": ["week", "day"]}}] for c in COUNT_OR_WORD],
            *[[c, {"LOWER": {"IN": ["times", "x"]}}, COUNT] for c in COUNT_OR_WORD],
            [{"TEXT": {"REGEX": r"^\d+(\.\d+)?(g|gm|grams?)$"}}],
            [COUNT, {"LOWER": {"IN": ["g", "gm", "gram", "grams"]}}],
        ],
        "FREQUENCY": [
            [{"LOWER": {"IN": FREQ_ABBR}}],
            [COUNT_OR_WORD[0], times, *per, period],
            [COUNT, {"ORTH": "-"}, COUNT, times, *per, period],  # "2-3 times a week"
            [COUNT_OR_WORD[1], times, *per, period],
            [{"LOWER": {"IN": ["once", "twice", "thrice"]}}, *per, period],
            [{"LOWER": {"IN": ["once", "twice", "thrice"]}}, {"LOWER": "daily"}],
            [{"LOWER": {"IN": ["every", "each"]}}, {"TEXT": {"REGEX": r"^\d+(-\d+)?$"}, "OP": "?"}, period],
            [{"TEXT": {"REGEX": r"^\d+x\d+$"}}],
        ],
        "ROUTE": [
            [{"LOWER": {"IN": ROUTES}}],
            [{"LOWER": "by"}, {"LOWER": "mouth"}],
        ],
    }


class DoseTagger:
    def __init__(self, nlp: Language, name: str, max_link_words: int):
        self.name = name
        self.nlp = nlp
        self.max_link_words = max_link_words
        self.matcher = Matcher(nlp.vocab)
        for label, pats in _patterns().items():
            self.matcher.add(label, pats, greedy="LONGEST")

    def __call__(self, doc: Doc) -> Doc:
        start, end = body_range(doc)
        view = get_word_view(self.nlp.tokenizer, doc, start, end)
        found: list[Span] = []
        matches = sorted(self._matches(view), key=lambda m: (m[1], -m[2]))
        taken: set[int] = set()
        for match_id, s, e in matches:
            if any(i in taken for i in range(s, e)):
                continue
            label = self.nlp.vocab.strings[match_id]
            span = view.to_span(s, e, label)
            if span is None:
                continue
            taken.update(range(s, e))
            found.append(span)
        doc.spans[DOSES_KEY] = found
        imr = list(doc.spans.get(SPANS_KEY, []))
        drugs = [s for s in imr if s.label_ == "DRUG"]
        doses = []
        for span in found:
            if span.label_ != "DOSE":
                continue
            dose = Span(doc, span.start, span.end, label="DOSE")
            drug = self._link(doc, dose, drugs)
            dose._.imr_drug = drug.text if drug is not None else None
            if "%" in dose.text and (drug is None or _statistic(doc, dose)):
                continue  # a percentage with no drug, or one of relief or of patients, is no strength
            if _MORPHINE_EQUIVALENT.match(doc_text(doc), dose.end_char):
                continue  # "80 mg/day MED": an opioid threshold, not a drug's strength
            doses.append(dose)
        imr = [s for s in imr if s.label_ != "DOSE"] + doses
        imr.sort(key=lambda s: (s.start, -s.end))
        doc.spans[SPANS_KEY] = imr
        set_ents(doc)
        # carry the link onto the stored group (span extension values live on the doc user_data)
        for span in doc.spans[SPANS_KEY]:
            if span.label_ == "DOSE":
                for d in doses:
                    if d.start == span.start and d.end == span.end:
                        span._.imr_drug = d._.imr_drug
        if Doc.has_extension("imr_items") and doc._.imr_items:
            index = _span_index(doc)
            unnamed: list[Span] = []
            for item in doc._.imr_items:
                item.update(item_fields(doc, item, index, unnamed))
            if unnamed:  # an item's drug or service that no lexicon knows is a mention too
                for span in unnamed:
                    span._.imr_source = "item"
                doc.spans[SPANS_KEY] = sorted(list(doc.spans[SPANS_KEY]) + unnamed, key=lambda s: (s.start, -s.end))
                set_ents(doc)
        return doc

    def _matches(self, view: WordView) -> list[tuple[int, int, int]]:
        """The Matcher run only on windows that start with a possible first token (a number,
        "#", "QTY", a frequency or route word...): the patterns' REGEX predicates are the cost,
        and most of a letter has no such token."""
        starts = [i for i, w in enumerate(view.lower)
                  if w[:1].isdigit() or w[:1] == "#" or w in _START_WORDS or (w[:1] == "x" and w[1:].isdigit())]
        return match_in_windows(self.matcher, view.doc, starts, _WINDOW)

    def _link(self, doc: Doc, dose: Span, drugs: list[Span]) -> Optional[Span]:
        # a drug more than ~200 characters away cannot be within max_link_words words
        near = [d for d in drugs if -_LINK_CHARS < dose.start_char - d.end_char < _LINK_CHARS
                or -_LINK_CHARS < d.start_char - dose.end_char < _LINK_CHARS]
        before = [d for d in near if d.end <= dose.start
                  and _words_between(doc, d.end, dose.start) <= self.max_link_words]
        if before:
            return max(before, key=lambda d: d.end)
        after = [d for d in near if d.start >= dose.end and _words_between(doc, dose.end, d.start) <= 3]
        return min(after, key=lambda d: d.start) if after else None

    def to_disk(self, path, exclude=tuple()):
        pass

    def from_disk(self, path, exclude=tuple()):
        return self


_WINDOW = 8  # longest pattern is 6 tokens; a window covers any match that starts in it
_LINK_CHARS = 200
_START_WORDS = {w.lower() for w in (
    ["qty", "quantity", "times", "x", "once", "twice", "thrice", "every", "each", "by"]
    + WORDNUM + FREQ_ABBR + ROUTES)}


# A percentage is a statistic, not a strength, when an outcome or a population follows it ("50%
# pain relief", "30% improvement", "20% of patients") or a comparison or a verb comes before it
# ("by 50%", "at least 30%", "were 12%", "improved 40%"). The gold letters' strengths have a drug
# or a vehicle ("cream", "gel") before them and "in", a drug or nothing after them.
_STAT_AFTER = {"relief", "improvement", "improved", "reduction", "reduced", "decrease", "decreased", "increase",
               "increased", "better", "worse", "pain", "among", "of", "for", "function", "functional", "less",
               "more", "benefit", "response", "responders", "success", "rate", "chance", "patients", "overall",
               "subjective", "objective", "symptom", "symptoms", "effective", "improvements", "reductions"}
_STAT_BEFORE = {"by", "least", "than", "approximately", "about", "around", "over", "under", "were", "was", "is",
                "are", "being", "versus", "vs", "only", "nearly", "roughly", "estimated", "reported", "reports",
                "improved", "reduced", "decreased", "increased", "additional", "another"}


def _statistic(doc: Doc, dose: Span) -> bool:
    after = next((t.lower_ for t in doc[dose.end:dose.end + 3] if not t.is_space), "")
    before = next((t.lower_ for t in reversed(doc[max(0, dose.start - 3):dose.start]) if not t.is_space), "")
    return after in _STAT_AFTER or before in _STAT_BEFORE


def _words_between(doc: Doc, a: int, b: int) -> int:
    toks = [t for t in doc[a:b] if not t.is_space]
    if any(t.text in {".", ";"} and t.i > 0 and not doc[t.i - 1].like_num for t in toks):
        return 10 ** 6
    return len(toks)


def _span_index(doc: Doc) -> dict[tuple[str, str], list[Span]]:
    """(group, label) -> spans sorted by start: built once per Doc for all its items."""
    index: dict[tuple[str, str], list[Span]] = {}
    for group in (SPANS_KEY, DOSES_KEY):
        for s in doc.spans.get(group, []):
            index.setdefault((group, s.label_), []).append(s)
    for spans in index.values():
        spans.sort(key=lambda s: s.start)
    return index


def item_fields(doc: Doc, item: dict[str, Any], index: Optional[dict[tuple[str, str], list[Span]]] = None,
                new_spans: Optional[list[Span]] = None) -> dict[str, Any]:
    """The entity fields of one disputed item, from spans inside its item text. The TREATMENT
    or DRUG span of a service or drug no lexicon knows (:func:`unnamed_service`,
    :func:`unnamed_drug`) is appended to ``new_spans``."""
    if index is None:
        index = _span_index(doc)
    a, b = item.get("text_start"), item.get("text_end")
    empty = {"treatment": None, "drugs": [], "dose": None, "quantity": None, "frequency": None,
             "route": None, "body_parts": []}
    if a is None or b is None:
        return empty

    def inside(group: str, label: str) -> list[Span]:
        return [s for s in index.get((group, label), []) if s.start_char >= a and s.end_char <= b]

    def clean(span: Span) -> str:
        return one_line(span.text).rstrip(".,;:")

    def distinct(spans: list[Span]) -> list[str]:
        out: list[str] = []
        for s in spans:
            t = clean(s)
            if t.lower() not in {o.lower() for o in out}:
                out.append(t)
        return out

    drugs = distinct(inside(SPANS_KEY, "DRUG"))
    treatments = inside(SPANS_KEY, "TREATMENT")
    doses = [clean(s) for s in inside(SPANS_KEY, "DOSE")]
    quantity = inside(DOSES_KEY, "QUANTITY")
    freq = inside(DOSES_KEY, "FREQUENCY")
    route = inside(DOSES_KEY, "ROUTE")
    # body parts: outermost BODY_PART spans (not the ones nested in a longer body part)
    bodies = inside(SPANS_KEY, "BODY_PART")
    bodies = [s for s in bodies if not any(o is not s and o.start <= s.start and s.end <= o.end
                                            and (o.end - o.start) > (s.end - s.start) for o in bodies)]
    # an item no lexicon or model names: a medication (a strength, a "#" count, a dosage form) or a service
    unnamed = drug = None
    if not treatments and not drugs:
        if doses or _medication(doc_text(doc)[a:b], quantity):
            drug = unnamed_drug(doc, a, b, inside(SPANS_KEY, "DOSE") + quantity + freq)
            drugs = [clean(drug)] if drug is not None else []
        else:
            unnamed = unnamed_service(doc, a, b, bodies + quantity + freq + inside(SPANS_KEY, "DIAGNOSIS"))
        if new_spans is not None:
            new_spans.extend(s for s in (drug, unnamed) if s is not None)
    return {
        "treatment": (_spelt_out(treatments, a, b) or _core_treatment(treatments)) if treatments
        else _core_service(clean(unnamed)) if unnamed else None,
        "drugs": drugs,
        "dose": "/".join(doses) if doses else None,
        "quantity": _item_quantity(doc, a, b, quantity, freq, treatments),
        "frequency": clean(freq[0]) if freq else None,
        "route": clean(route[0]) if route else None,
        "body_parts": distinct(bodies),
    }


# after a strength: a morphine-equivalent threshold ("above 80 mg/day MED", "120 mg oral morphine equivalents")
_MORPHINE_EQUIVALENT = re.compile(r"(?:\s*(?:/|per)\s*(?:day|d)\b)?\s*(?:\(?(?:MED|MME|MEq)\b|(?:oral\s+)?morphine\s+"
                                  r"(?:milligram\s+)?equivalen)")
_COUNT_TEXT = r"(?:\d+|" + "|".join(NUMBER_WORDS) + r")(?:\s*\(\d+\))?"  # "Six", "One (1)", "12"
_LEADING_COUNT = re.compile(_COUNT_TEXT +
                            r"(?:\s+(?:containers?|tubes?|bottles?|jars?|boxes|box|pairs?|sets?|kits?)\b"
                            r"|(?:\s+(?:additional|more|further))?\s+(?:sessions?|visits?|treatments?)\b)?(?=\s+[A-Za-z])",
                            re.IGNORECASE)
_FREQ_THEN_SPAN = re.compile(r"\s*(?:,\s*)?(?:for|times|x|over)?\s*(?:a\s+(?:total\s+of\s+)?)?$", re.IGNORECASE)
_DURATION = re.compile(r"\b(?:weeks?|months?|days?)$", re.IGNORECASE)


def _item_quantity(doc: Doc, a: int, b: int, quantity: list[Span], freq: list[Span],
                   treatments: list[Span]) -> Optional[str]:
    """An item's quantity as ANNOTATION.md writes it: a "#" count ("Three refills of Naproxen 550mg
    #60" -> "#60"); a count the item opens with ("Ten physical therapy sessions" -> "Ten", "One
    (1) MRI" -> "One (1)", not the "Three" of "Three phase bone scan"); a frequency with its
    duration ("two times a week for four weeks"); else the first quantity written ("QTY: 1.00" ->
    "1.00", "12 sessions")."""
    text = doc_text(doc)

    def written(span: Span) -> str:
        return re.sub(r"^(?:qty|quantity)\s*:?\s*", "", one_line(span.text), flags=re.IGNORECASE).rstrip(".,;:")

    # a tooth's number is no count ("implants for teeth #8 and #9 (QTY: 2.00)")
    quantity = [q for q in quantity
                if not (q.text.startswith("#") and _TOOTH_BEFORE.search(text, max(a, q.start_char - 40), q.start_char))]
    hashed = [q for q in quantity if q.text.startswith("#")]
    if hashed:
        return written(hashed[0])
    first = quantity[0] if quantity else None
    if first is None or text[a:first.start_char].strip():
        m = _LEADING_COUNT.match(text, a, b)
        if m and not re.match(r"\s*(?:mg|mcg|ml|g|%|percent)\b", text[m.end():b], re.IGNORECASE) \
                and not any(t.start_char <= m.start() < t.end_char for t in treatments):
            return one_line(m.group())
    if first is None:
        return None
    if _DURATION.search(first.text):
        for f in freq:
            if f.end_char <= first.start_char and _FREQ_THEN_SPAN.match(text[f.end_char:first.start_char]):
                return one_line(text[f.start_char:first.end_char]).rstrip(".,;:")
    return written(first)


_TOOTH_BEFORE = re.compile(r"\b(?:tooth|teeth)(?:\s*(?:#\d+|and|&|,|or))*\s*$", re.IGNORECASE)
_PERIOP_PREFIX = re.compile(r"(?:(?:pre|post)[- ]?op(?:erative)?|outpatient|inpatient)\s+", re.IGNORECASE)
_REQUEST_PREFIX = re.compile(r"(?:retrospective|retro|prospective|request(?:ed)?\s+for|continued|repeat)\s+", re.IGNORECASE)
_TRAILING_FILLER = re.compile(r"(?:[\s,;:(]+(?:for|to|of|on|at|in|x|the|and|with|qty)\b)*[\s,;:(]*$", re.IGNORECASE)
_MAX_SERVICE_WORDS = 6
_MAX_DRUG_WORDS = 3
# a dosage form in an item's name makes it a medication ("Zorblax cream 120g"), not a service
_DOSAGE_FORMS = {"cream", "creams", "gel", "gels", "patch", "patches", "ointment", "lotion", "solution", "tablet",
                 "tablets", "tab", "tabs", "capsule", "capsules", "spray", "drops", "syrup", "suspension", "powder",
                 "lozenges", "transdermal", "topical", "oral", "compound", "compounded"}
_TRAILING_FORM = re.compile(r"(?:\s+(?:(?:" + "|".join(sorted(SALT_OR_FORM | _DOSAGE_FORMS, key=len, reverse=True))
                            + r")\b|[\d.,/%-]+(?:\s*(?:mg|mcg|g|ml)\b)?)\.?)+\s*$", re.IGNORECASE)
_LEADING_SESSIONS = re.compile(r"\s*" + _COUNT_TEXT +
                               r"(?:\s+(?:additional|more|further))?(?:\s+(?:sessions?|visits?|treatments?|units?|prescriptions?|"
                               r"refills?|supply|bottles?|tubes?|boxes|containers?|jars?|kits?))?"
                               r"(?:\s+of)?\s+", re.IGNORECASE)


def _item_name(text: str, a: int, b: int, stops: list[Span], prefix_limit: Optional[int] = None) -> tuple[int, int]:
    """The char range of the name an item opens with: its text up to the first of ``stops``,
    without a leading request word ("Retrospective", "Repeat") or count ("Six sessions of") and
    without trailing filler words ("for the")."""
    start, moved = a, True
    while moved:  # "Retrospective request for six sessions of ..."; never into a strength
        moved = False
        for prefix in (_REQUEST_PREFIX, _LEADING_SESSIONS):
            m = prefix.match(text, start, prefix_limit or b)
            if m and m.end() > start:
                start, moved = m.end(), True
    end = min([s.start_char for s in stops if start <= s.start_char < b] + [b])
    m = _TRAILING_FILLER.search(text, start, end)
    if m:
        end = m.start()
    while end > start and text[end - 1] in ".,;:-":
        end -= 1
    return start, end


def _named(text: str, start: int, end: int, max_words: int) -> bool:
    words = text[start:end].split()
    return 0 < len(words) <= max_words and bool(re.search(r"[A-Za-z]{2}", text[start:end]))


def unnamed_service(doc: Doc, a: int, b: int, stops: list[Span]) -> Optional[Span]:
    """The service an item requests when no TREATMENT span and no drug or strength was found in it
    ("Jamar grip test", "Pre-op clearance", "Chirophysio therapy for the cervical spine" ->
    "Chirophysio therapy"), as a TREATMENT span: the item's name (:func:`_item_name`) up to its
    first body part, diagnosis, quantity or frequency. An item names what was requested, so a
    name the lexicons and the recognizer do not know is still a treatment. Not for an item that
    leaves more than a few words. The mention keeps a pre-/post-operative word as written; the item's
    ``treatment`` field drops it (:func:`_core_service`, ANNOTATION.md: the core service)."""
    text = doc_text(doc)
    start, end = _item_name(text, a, b, stops)
    if not _named(text, start, end, _MAX_SERVICE_WORDS):
        return None
    return doc.char_span(start, end, label="TREATMENT", alignment_mode="expand")


def unnamed_drug(doc: Doc, a: int, b: int, stops: list[Span]) -> Optional[Span]:
    """The medication an item requests when no drug was found in it ("Zorblax ER 10mg #60",
    "Zorblax cream 5% 120g" -> "Zorblax"), as a DRUG span: the item's name (:func:`_item_name`)
    up to its first strength, quantity or frequency, without trailing release, salt or dosage
    form words or strengths (ANNOTATION.md: the drug's name without salt or release form). A
    brand newer than the vocabularies is still a drug."""
    text = doc_text(doc)
    strength = min([s.start_char for s in stops if s.label_ == "DOSE" and a <= s.start_char < b] + [b])
    start, end = _item_name(text, a, b, stops, prefix_limit=strength)
    m = _TRAILING_FORM.search(text, start, end)
    if m:
        end = m.start()
    if not _named(text, start, end, _MAX_DRUG_WORDS) or not text[start].isalpha():
        return None
    return doc.char_span(start, end, label="DRUG", alignment_mode="expand")


def _medication(item_text: str, quantity: list[Span]) -> bool:
    """Whether an item with no drug found still asks for a medication: a "#" count of pills or a
    dosage form in its text ("Zorblax cream 120g")."""
    return any(q.text.startswith("#") for q in quantity) or any(
        w.lower().strip(".,;:()") in _DOSAGE_FORMS for w in item_text.split())


def _core_service(name: str) -> str:
    """``name`` without a leading pre-/post-operative or setting word ("Pre-op clearance" -> "clearance")."""
    m = _PERIOP_PREFIX.match(name)
    return name[m.end():] if m and m.end() < len(name) else name


def _spelt_out(spans: list[Span], a: int, b: int) -> Optional[str]:
    """The long form an item writes before the abbreviation that is its only treatment mention
    ("TRIGGER POINTS IMPEDANCE IMAGING (TPII)" -> the long form, as the item requests it), found
    by scispaCy's Schwartz & Hearst matcher in the item's words before the parenthesis. For items
    where the recognizer found the short form but not the long one (upper-case items); the
    letter-wide detector of ``imr_abbreviations`` keeps one long form per short form, often the
    summary's, not the item's own."""
    if len({(s.start, s.end) for s in spans}) != 1:
        return None
    span = spans[0]
    doc = span.doc
    if not (span.text.isupper() and span.start > 0 and span.end < len(doc)
            and doc[span.start - 1].text == "(" and doc[span.end].text.startswith(")")):
        return None
    first = span.start - 1
    while first > 0 and doc[first - 1].idx >= a:
        first -= 1
    _short, long = find_abbreviation(doc[first:span.start - 1], span)
    return one_line(long.text) if long is not None else None


def _core_treatment(spans: list[Span]) -> str:
    """The first treatment, longest at that position ("EMG/NCV" over "EMG"); after a heading colon
    ("Pre-operative labs: CMP" -> "CMP"); with a second one joined to it by "and", "&" or "/" ("EMG and
    NCS of both arms" -> "EMG and NCS"), as ANNOTATION.md writes the request."""
    doc = spans[0].doc
    colon = [s for s in spans if ":" in doc_text(doc)[spans[0].start_char:s.start_char]]
    ordered = sorted(colon or spans, key=lambda s: (s.start, -(s.end - s.start)))
    first = ordered[0]
    for nxt in ordered[1:]:
        between = doc_text(doc)[first.end_char:nxt.start_char]
        if nxt.start >= first.end and re.fullmatch(r"\s*(?:and|&|/)\s*", between, re.IGNORECASE):
            return one_line(doc_text(doc)[first.start_char:nxt.end_char]).rstrip(".,;:")
    return one_line(first.text).rstrip(".,;:")


@Language.factory("imr_doses", default_config={"max_link_words": 6})
def make_dose_tagger(nlp: Language, name: str, max_link_words: int) -> DoseTagger:
    return DoseTagger(nlp, name, max_link_words)
