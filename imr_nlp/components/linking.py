"""``imr_linking``: DRUG -> normalized name + vocabulary id; DIAGNOSIS -> ranked ICD-10-CM candidates.

DRUG: exact lookup of the mention (lower-cased, whitespace collapsed) in ``resources/drugs.tsv``
(DrugBank ``DB...`` / ``MESH:`` / ``MEDLINEPLUS:`` ids); spans the lexicon already normalized keep
their values. A model-found drug missing from the lexicon keeps ``imr_norm`` None.

DIAGNOSIS: scispaCy ``KnowledgeBase`` + ``CandidateGenerator`` over a KB built from the
``simple-icd-10-cm`` package (every category and code with its description; a description with a
comma also gets its inverted alias: "Radiculopathy, lumbar region" -> "lumbar region
radiculopathy"). scispaCy's ``create_tfidf_ann_index`` does not run on Python 3.11 (and pickles
its vectorizer with joblib), so :func:`build_icd_index` builds the same thing itself: a char_wb
3-gram ``TfidfVectorizer`` whose vocabulary (JSON) and idf (npy) are saved without pickle and
restored by setting ``vocabulary_``/``idf_``, and an nmslib HNSW index (cosinesimil_sparse) saved
with nmslib's own format. ``Span._.imr_candidates`` = ``[[code, description, score], ...]`` best
first; ``Span._.imr_kb_id`` = the best code.

The KB leaves out the 7th-character encounter variants of injury codes ("..., initial encounter",
"..., subsequent encounter", "..., sequela"): they repeat their parent's description, and a letter's
diagnosis names the condition, not the encounter. What is saved is small and runs no code when
loaded: the vectorizer's vocabulary (JSON) and idf (npy), and the HNSW graph without its data
(``ann_index.bin``); the concepts and their TF-IDF vectors are rebuilt from the ``simple-icd-10-cm``
package when the index is first used (a few seconds), in the same order, which ``manifest.json``
checks. The index is built once into ``index_dir`` (default ``~/.cache/imr_nlp/icd10cm``) and saved
with the pipeline by ``to_disk``, so a committed pipeline never rebuilds it.
"""
from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Any, Iterable, Iterator, Optional

import numpy
from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.util import minibatch

from .entities import RESOURCES, SPANS_KEY, read_drugs

DEFAULT_INDEX = Path(os.environ.get("IMR_NLP_CACHE", Path.home() / ".cache" / "imr_nlp")) / "icd10cm"
INDEX_FILES = ("manifest.json", "vocabulary.json", "idf.npy", "ann_index.bin")
RANK_CACHE_SIZE = 20000  # diagnosis texts whose ICD-10-CM candidates are remembered
ENCOUNTER_VARIANT = re.compile(r",\s*(?:initial|subsequent)\s+encounter\b.*$|,\s*sequela$", re.IGNORECASE)


def _invert(desc: str) -> Optional[str]:
    if "," not in desc:
        return None
    head, rest = desc.split(",", 1)
    return f"{rest.strip()} {head.strip()}"


def icd_concepts() -> list[dict[str, Any]]:
    """One KB concept per ICD-10-CM category/code (chapters, blocks and encounter variants skipped)."""
    import simple_icd_10_cm as cm

    concepts = []
    for code in cm.get_all_codes(with_dots=True):
        if cm.is_chapter(code) or cm.is_block(code):
            continue
        desc = cm.get_description(code)
        if len(code.replace(".", "")) == 7 and ENCOUNTER_VARIANT.search(desc):
            continue
        inv = _invert(desc)
        concepts.append({"concept_id": code, "canonical_name": desc, "aliases": [inv] if inv else [],
                         "types": ["ICD10CM"]})
    return concepts


def concept_aliases(concepts: list[dict[str, Any]]) -> list[str]:
    """Every distinct name and alias, in KB order (the order of the index's data points)."""
    aliases: list[str] = []
    seen: set[str] = set()
    for c in concepts:
        for a in [c["canonical_name"], *c["aliases"]]:
            if a not in seen:  # scispacy looks the alias up as written in kb.alias_to_cuis
                seen.add(a)
                aliases.append(a)
    return aliases


def _vectorizer():
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 3), min_df=2, dtype=numpy.float32)


def build_icd_index(out_dir: Path, m: int = 16, ef_construction: int = 100) -> Path:
    """Fit the TF-IDF vectorizer and the nmslib HNSW graph over the ICD-10-CM KB; save without pickle."""
    import nmslib

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    concepts = icd_concepts()
    aliases = concept_aliases(concepts)
    vec = _vectorizer()
    X = vec.fit_transform(aliases)
    index = nmslib.init(method="hnsw", space="cosinesimil_sparse", data_type=nmslib.DataType.SPARSE_VECTOR)
    index.addDataPointBatch(X)
    index.createIndex({"M": m, "efConstruction": ef_construction, "post": 0}, print_progress=False)
    index.saveIndex(str(out_dir / "ann_index.bin"), save_data=False)
    (out_dir / "vocabulary.json").write_text(json.dumps({k: int(v) for k, v in vec.vocabulary_.items()}))
    numpy.save(out_dir / "idf.npy", vec.idf_.astype(numpy.float64))
    (out_dir / "manifest.json").write_text(json.dumps({"concepts": len(concepts), "aliases": len(aliases)}))
    return out_dir


def load_candidate_generator(index_dir: Path, ef_search: int = 200):
    """Restore the CandidateGenerator from ``build_icd_index`` files (no pickle)."""
    import nmslib
    from scispacy.candidate_generation import CandidateGenerator
    from scispacy.linking_utils import Entity, KnowledgeBase

    index_dir = Path(index_dir)
    manifest = json.loads((index_dir / "manifest.json").read_text())
    concepts = icd_concepts()
    aliases = concept_aliases(concepts)
    if (len(concepts), len(aliases)) != (manifest["concepts"], manifest["aliases"]):
        raise ValueError(f"{index_dir}: ICD-10-CM index was built from another simple-icd-10-cm release; "
                         "rebuild it (delete the folder)")
    vec = _vectorizer()
    vec.vocabulary_ = json.loads((index_dir / "vocabulary.json").read_text())
    vec.idf_ = numpy.load(index_dir / "idf.npy")
    kb = KnowledgeBase([Entity(c["concept_id"], c["canonical_name"], c["aliases"], c["types"]) for c in concepts])
    index = nmslib.init(method="hnsw", space="cosinesimil_sparse", data_type=nmslib.DataType.SPARSE_VECTOR)
    index.addDataPointBatch(vec.transform(aliases))
    index.loadIndex(str(index_dir / "ann_index.bin"), load_data=False)
    index.setQueryTimeParams({"efSearch": ef_search})
    return CandidateGenerator(ann_index=index, tfidf_vectorizer=vec, ann_concept_aliases_list=aliases, kb=kb)


class EntityLinker:
    def __init__(self, nlp: Language, name: str, resources: Optional[str], index_dir: Optional[str], k: int,
                 max_candidates: int, threshold: float, link_diagnoses: bool):
        self.name = name
        self.drugs = read_drugs(Path(resources or RESOURCES) / "drugs.tsv")
        self.index_dir = Path(index_dir) if index_dir else DEFAULT_INDEX
        self.k = k
        self.max_candidates = max_candidates
        self.threshold = threshold
        self.link_diagnoses = link_diagnoses
        self._generator = None
        self._ranked: dict[str, list[list[Any]]] = {}

    @property
    def generator(self):
        if self._generator is None:
            if not all((self.index_dir / f).exists() for f in INDEX_FILES):
                build_icd_index(self.index_dir)
            self._generator = load_candidate_generator(self.index_dir)
        return self._generator

    def initialize(self, get_examples=None, nlp=None) -> None:
        _ = self.generator

    def __call__(self, doc: Doc) -> Doc:
        self._link([doc])
        return doc

    def pipe(self, stream: Iterable[Doc], batch_size: int = 128) -> Iterator[Doc]:
        """Link a batch of Docs at a time: one candidate-generator query for all of the batch's
        new diagnosis texts (its per-call overhead, not the search, is most of its cost)."""
        for batch in minibatch(stream, size=batch_size):
            self._link(batch)
            yield from batch

    def _link(self, docs: list[Doc]) -> None:
        dx: list[tuple[Span, str]] = []
        for doc in docs:
            for span in doc.spans.get(SPANS_KEY, []):
                if span.label_ == "DRUG" and span._.imr_norm is None:
                    key = " ".join(span.text.lower().split())
                    if key in self.drugs:
                        span._.imr_norm, kb = self.drugs[key]
                        span._.imr_kb_id = kb or None
                elif span.label_ == "DIAGNOSIS" and self.link_diagnoses:
                    dx.append((span, " ".join((span._.imr_norm or span.text).lower().split())))
        if not dx:
            return
        # the same diagnoses recur across letters ("lumbar radiculopathy"): remember recent answers
        new = sorted({t for _s, t in dx if t not in self._ranked})
        if new:
            if len(self._ranked) + len(new) > RANK_CACHE_SIZE:
                self._ranked.clear()
            self._ranked.update(zip(new, self.rank(new)))
        for span, t in dx:
            cands = self._ranked[t]
            span._.imr_candidates = [list(c) for c in cands]
            span._.imr_kb_id = cands[0][0] if cands else None

    def rank(self, texts: list[str]) -> list[list[list[Any]]]:
        """For each mention text: [[code, description, score], ...] best first."""
        gen = self.generator
        out = []
        for mention_cands in gen(texts, self.k):
            scored: dict[str, float] = {}
            for cand in mention_cands:
                score = max(cand.similarities)
                for cui in cand.concept_id if isinstance(cand.concept_id, list) else [cand.concept_id]:
                    scored[cui] = max(scored.get(cui, 0.0), score)
            ranked = sorted(scored.items(), key=lambda kv: (-kv[1], len(kv[0]), kv[0]))
            ranked = [(c, s) for c, s in ranked if s >= self.threshold][: self.max_candidates]
            out.append([[c, gen.kb.cui_to_entity[c].canonical_name, round(float(s), 4)] for c, s in ranked])
        return out

    def to_disk(self, path, exclude=tuple()):
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        if all((self.index_dir / f).exists() for f in INDEX_FILES):
            for f in INDEX_FILES:
                if (self.index_dir / f).resolve() != (path / f).resolve():
                    shutil.copyfile(self.index_dir / f, path / f)

    def from_disk(self, path, exclude=tuple()):
        path = Path(path)
        if all((path / f).exists() for f in INDEX_FILES):
            self.index_dir = path
            self._generator = None
            self._ranked = {}
        return self


@Language.factory(
    "imr_linking",
    default_config={"resources": None, "index_dir": None, "k": 30, "max_candidates": 5, "threshold": 0.5,
                    "link_diagnoses": True},
)
def make_entity_linker(nlp: Language, name: str, resources: Optional[str], index_dir: Optional[str], k: int,
                       max_candidates: int, threshold: float, link_diagnoses: bool) -> EntityLinker:
    return EntityLinker(nlp, name, resources, index_dir, k, max_candidates, threshold, link_diagnoses)
