"""The typed result of parsing one IMR letter: :class:`Letter`, its :class:`DisputedItem` s and
their :class:`GuidelineCitation` s, read off a processed spaCy ``Doc``.

``Letter.to_dict()`` speaks the schema of ``ANNOTATION.md`` (the contract with gold data and
``imr-nlp evaluate``); ``tables()`` gives the same content as flat rows for Parquet and pandas.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any, Optional

from spacy.tokens import Doc

from .components.entities import LABELS as ENTITY_LABELS
from .components.entities import SPANS_KEY as ENTITIES_KEY
from .components.sections import SPANS_KEY as SECTIONS_KEY
from .text import doc_text, one_line

HEADER_DATES = ("date_assigned", "date_of_injury", "decision_date", "ur_denial_date", "application_received")


@dataclass
class GuidelineCitation:
    """One cited guideline document: ``source`` is MTUS, ODG, ACOEM or OTHER."""

    source: str
    document: Optional[str]
    year: Optional[int]
    sections: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class PartialCertification:
    """"X was the original request. Y was authorized ... The remaining ... portion, Z"."""

    original_request: str
    authorized: str
    remaining: str


@dataclass
class DenialReason:
    """A reason for denial with its probability and the rationale sentences that show it."""

    label: str
    probability: float
    evidence: list[str] = field(default_factory=list)


@dataclass
class DisputedItem:
    """One disputed service or medication with its decision, citations, rationale and reasons."""

    index: int
    text: str
    decision: str
    start: int
    end: int
    rationale: str
    rationale_start: Optional[int]
    rationale_end: Optional[int]
    claims_administrator_guidelines: list[GuidelineCitation]
    reviewer_guidelines: list[GuidelineCitation]
    partial: Optional[PartialCertification] = None
    treatment: Optional[str] = None
    drugs: list[str] = field(default_factory=list)
    dose: Optional[str] = None
    quantity: Optional[str] = None
    frequency: Optional[str] = None
    route: Optional[str] = None
    body_parts: list[str] = field(default_factory=list)
    denial_reasons: list[str] = field(default_factory=list)
    reasons: list[DenialReason] = field(default_factory=list)
    reason_probabilities: dict[str, float] = field(default_factory=dict)

    @property
    def upheld(self) -> bool:
        return self.decision == "upheld"

    def to_dict(self) -> dict[str, Any]:
        """The ANNOTATION.md item record, plus offsets and the extra fields as extra keys."""
        return {
            "text": self.text,
            "decision": self.decision,
            "treatment": self.treatment,
            "drugs": list(self.drugs),
            "dose": self.dose,
            "quantity": self.quantity,
            "body_parts": list(self.body_parts),
            "claims_administrator_guidelines": [c.to_dict() for c in self.claims_administrator_guidelines],
            "reviewer_guidelines": [c.to_dict() for c in self.reviewer_guidelines],
            "denial_reasons": list(self.denial_reasons),
            "frequency": self.frequency,
            "route": self.route,
            "partial": asdict(self.partial) if self.partial else None,
            "reason_probabilities": dict(self.reason_probabilities),
            "reason_evidence": {r.label: list(r.evidence) for r in self.reasons},
            "start": self.start,
            "end": self.end,
            "rationale": self.rationale,
        }


@dataclass
class Section:
    label: str
    start: int
    end: int


@dataclass
class Entity:
    """One tagged mention, with where it is and what it was linked to."""

    label: str
    text: str
    start: int
    end: int
    section: Optional[str]
    item: Optional[int]
    norm: Optional[str]
    kb_id: Optional[str]
    assertion: str
    candidates: list[tuple[str, str, float]] = field(default_factory=list)


@dataclass
class Letter:
    """A parsed IMR final-determination letter."""

    doc: Doc
    case_number: Optional[str]
    date_assigned: Optional[date]
    date_of_injury: Optional[date]
    decision_date: Optional[date]
    ur_denial_date: Optional[date]
    application_received: Optional[date]
    priority: Optional[str]
    licensure: list[str]
    specialty: list[str]
    age: Optional[int]
    sex: Optional[str]
    sections: list[Section]
    items: list[DisputedItem]
    entities: list[Entity]
    warnings: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return doc_text(self.doc)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_doc(cls, doc: Doc) -> "Letter":
        """Read a Letter off a Doc processed by the IMR pipeline."""
        header = doc._.imr_header or {}
        sections = [Section(s.label_, s.start_char, s.end_char) for s in doc.spans.get(SECTIONS_KEY, [])]
        items = [_item(doc, raw) for raw in (doc._.imr_items or [])]
        entities = _entities(doc, sections, items)
        letter = cls(
            doc=doc,
            case_number=header.get("case_number"),
            **{k: _date(header.get(k)) for k in HEADER_DATES},
            priority=header.get("priority"),
            licensure=list(header.get("licensure") or []),
            specialty=list(header.get("specialty") or []),
            age=header.get("age"),
            sex=header.get("sex"),
            sections=sections,
            items=items,
            entities=entities,
        )
        letter.warnings = _warnings(letter)
        return letter

    # ------------------------------------------------------------------ outputs
    def header_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {k: (getattr(self, k).isoformat() if getattr(self, k) else None) for k in HEADER_DATES}
        out["priority"] = self.priority
        return {k: out[k] for k in ("date_assigned", "date_of_injury", "decision_date", "ur_denial_date",
                                     "priority", "application_received")}

    def entity_mentions(self) -> dict[str, list[str]]:
        """Distinct mentions per label, as written (first spelling of each case-folded form), on
        one line: a word split by a line-end hyphen is joined ("x-\\nray" -> "x-ray")."""
        out: dict[str, list[str]] = {label: [] for label in ENTITY_LABELS}
        seen: set[tuple[str, str]] = set()
        for ent in self.entities:
            text = one_line(ent.text)
            key = (ent.label, text.lower())
            if ent.label in out and key not in seen:
                seen.add(key)
                out[ent.label].append(text)
        return out

    def to_dict(self) -> dict[str, Any]:
        """The letter in the ANNOTATION.md schema (with ``warnings`` and ``sections`` as extras)."""
        return {
            "case_number": self.case_number,
            "header": self.header_dict(),
            "reviewer": {"licensure": list(self.licensure), "specialty": list(self.specialty)},
            "patient": {"age": self.age, "sex": self.sex},
            "entities": self.entity_mentions(),
            "items": [item.to_dict() for item in self.items],
            "sections": [asdict(s) for s in self.sections],
            "warnings": list(self.warnings),
        }

    def tables(self, doc_id: Optional[str] = None) -> dict[str, list[dict[str, Any]]]:
        """Flat rows for the ``letters``, ``items``, ``citations``, ``entities`` and ``reasons``
        tables, each keyed by ``doc_id`` (default: the case number)."""
        doc_id = doc_id if doc_id is not None else (self.case_number or "")
        header = self.header_dict()
        letters = [{
            "doc_id": doc_id, "case_number": self.case_number, **header,
            "licensure": "; ".join(self.licensure), "specialty": "; ".join(self.specialty),
            "age": self.age, "sex": self.sex, "n_items": len(self.items),
            "n_upheld": sum(i.upheld for i in self.items), "warnings": "; ".join(self.warnings),
        }]
        items, citations, reasons = [], [], []
        for it in self.items:
            items.append({
                "doc_id": doc_id, "item": it.index, "text": it.text, "decision": it.decision,
                "treatment": it.treatment, "drugs": "; ".join(it.drugs), "dose": it.dose,
                "quantity": it.quantity, "frequency": it.frequency, "route": it.route,
                "body_parts": "; ".join(it.body_parts), "partial": it.partial is not None,
                "denial_reasons": "; ".join(it.denial_reasons), "start": it.start, "end": it.end,
            })
            for side, cites in (("claims_administrator", it.claims_administrator_guidelines),
                                ("reviewer", it.reviewer_guidelines)):
                for c in cites:
                    citations.append({"doc_id": doc_id, "item": it.index, "side": side, "source": c.source,
                                      "document": c.document, "year": c.year, "sections": "; ".join(c.sections)})
            for r in it.reasons:
                reasons.append({"doc_id": doc_id, "item": it.index, "label": r.label,
                                "probability": r.probability, "predicted": r.label in it.denial_reasons,
                                "evidence": " | ".join(r.evidence)})
        entities = [{"doc_id": doc_id, **{k: v for k, v in asdict(e).items() if k != "candidates"},
                     "top_candidate": e.candidates[0][0] if e.candidates else None} for e in self.entities]
        return {"letters": letters, "items": items, "citations": citations, "entities": entities, "reasons": reasons}

    def items_frame(self):
        """One row per disputed item (pandas DataFrame)."""
        import pandas as pd

        return pd.DataFrame(self.tables()["items"])

    def entities_frame(self):
        """One row per tagged mention: label, text, offsets, section, item, norm, id, assertion."""
        import pandas as pd

        return pd.DataFrame(self.tables()["entities"], columns=[
            "doc_id", "label", "text", "start", "end", "section", "item", "norm", "kb_id", "assertion",
            "top_candidate"])

    def citations_frame(self):
        import pandas as pd

        return pd.DataFrame(self.tables()["citations"])

    def render(self, jupyter: Optional[bool] = None, page: bool = False) -> Optional[str]:
        """Show the letter with its entity spans highlighted (displaCy "span" style)."""
        from spacy import displacy

        key = ENTITIES_KEY if self.doc.spans.get(ENTITIES_KEY) else SECTIONS_KEY
        return displacy.render(self.doc, style="span", options={"spans_key": key}, jupyter=jupyter, page=page)


def _date(value: Optional[str]) -> Optional[date]:
    return date.fromisoformat(value) if value else None


def _citation(raw: dict[str, Any]) -> GuidelineCitation:
    # Lists come back from DocBin (msgpack) as tuples.
    return GuidelineCitation(raw["source"], raw["document"], raw["year"], list(raw["sections"]))


def _item(doc: Doc, raw: dict[str, Any]) -> DisputedItem:
    text = doc_text(doc)
    rs, re_ = raw.get("rationale_start"), raw.get("rationale_end")
    probabilities = dict(raw.get("reason_probabilities") or {})
    evidence = raw.get("reason_evidence") or {}
    reasons = [DenialReason(label, float(probabilities.get(label, 1.0)),
                            [e["text"] if isinstance(e, dict) else str(e) for e in evidence.get(label, [])])
               for label in (raw.get("denial_reasons") or [])]
    partial = raw.get("partial")
    return DisputedItem(
        index=raw["index"], text=raw["text"], decision=raw["decision"],
        start=raw["text_start"], end=raw["text_end"],
        rationale=" ".join(text[rs:re_].split()) if rs is not None else "",
        rationale_start=rs, rationale_end=re_,
        claims_administrator_guidelines=[_citation(c) for c in raw.get("claims_administrator_guidelines", [])],
        reviewer_guidelines=[_citation(c) for c in raw.get("reviewer_guidelines", [])],
        partial=PartialCertification(**partial) if partial else None,
        treatment=raw.get("treatment"), drugs=list(raw.get("drugs") or []), dose=raw.get("dose"),
        quantity=raw.get("quantity"), frequency=raw.get("frequency"), route=raw.get("route"),
        body_parts=list(raw.get("body_parts") or []),
        denial_reasons=list(raw.get("denial_reasons") or []),
        reasons=reasons, reason_probabilities=probabilities,
    )


def _entities(doc: Doc, sections: list[Section], items: list[DisputedItem]) -> list[Entity]:
    if ENTITIES_KEY not in doc.spans:
        return []
    out = []
    for span in doc.spans[ENTITIES_KEY]:
        s, e = span.start_char, span.end_char
        section = next((x.label for x in sections if x.start <= s < x.end), None)
        item = None
        for it in items:
            block_end = it.rationale_end if it.rationale_end is not None else it.end
            if it.start <= s < max(block_end, it.end):
                item = it.index
        ext = span._
        out.append(Entity(
            label=span.label_, text=span.text, start=s, end=e, section=section, item=item,
            norm=getattr(ext, "imr_norm", None) if span.has_extension("imr_norm") else None,
            kb_id=getattr(ext, "imr_kb_id", None) if span.has_extension("imr_kb_id") else None,
            assertion=(getattr(ext, "imr_assertion", None) if span.has_extension("imr_assertion") else None) or "present",
            candidates=[tuple(c) for c in (ext.imr_candidates or [])] if span.has_extension("imr_candidates") else [],
        ))
    return out


def _warnings(letter: Letter) -> list[str]:
    found = {s.label for s in letter.sections}
    out = []
    if not found & {"REVIEWER", "SUMMARY", "ISSUES"}:
        out.append("not an IMR letter? none of the IMR section headings was found")
    elif "ISSUES" not in found:
        out.append("no 'IMR ISSUES, DECISIONS AND RATIONALES' section found")
    if letter.case_number is None:
        out.append("no case number found")
    if not letter.items:
        out.append("no disputed items found")
    for it in letter.items:
        if it.rationale_start is None:
            out.append(f"item {it.index}: no decision rationale found")
    return out
