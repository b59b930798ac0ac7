"""Build and load the IMR spaCy pipeline.

``build_pipeline()`` assembles the pipeline from its registered components (used to create and
retrain models); ``load()`` loads a saved pipeline — by default the one committed under
``models/imr_pipeline`` — once per process and caches it. A saved pipeline is a plain spaCy
directory (``nlp.to_disk``), so loading it runs no code beyond the registered components.
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Optional, Union

import spacy
from spacy.language import Language
from spacy.util import compile_infix_regex

from . import components  # noqa: F401  (registers the factories)

MODEL_ENV = "IMR_NLP_MODEL"
DEFAULT_MODEL = Path(__file__).resolve().parent.parent / "models" / "imr_pipeline"
CORE_COMPONENTS = ("imr_sections", "imr_header", "imr_items", "imr_citations")

_LOADED: dict[str, Language] = {}

# A slash after a strength and before a word, or after a unit and before a number, separates two
# ingredients or strengths of a compound ("Flurbiprofen 20%/Lidocaine 5%", "800mg/26.6mg"); spaCy's
# English infixes keep "20%/Lidocaine" as one token, which hides the second drug from the lexicon.
# A closing bracket glued to the next word by a hyphen ("electromyogram (EMG)-nerve conduction
# studies") is split off with the hyphen, so the abbreviation and the next name are tokens of their own.
INFIXES = (r"(?<=[0-9%])/(?=[A-Za-z])", r"(?<=[A-Za-z])/(?=[0-9])",
           r"(?<=[A-Za-z0-9])\)(?=-[A-Za-z])", r"(?<=\))-(?=[A-Za-z])")


def blank() -> Language:
    """``spacy.blank("en")`` with the IMR tokenizer rules (:func:`set_tokenizer_rules`). Every
    pipeline and every training Doc starts here, so the recognizer is trained on the tokens it
    will see."""
    return set_tokenizer_rules(spacy.blank("en"))


def set_tokenizer_rules(nlp: Language) -> Language:
    """English infixes plus :data:`INFIXES`; a saved pipeline keeps them in its ``tokenizer`` file.
    Applied to a pipeline being retrained too, so that one saved before a rule change catches up."""
    nlp.tokenizer.infix_finditer = compile_infix_regex(list(nlp.Defaults.infixes) + list(INFIXES)).finditer
    return nlp


def build_pipeline(entity_model: Optional[Path] = None, with_entities: bool = True) -> Language:
    """A fresh pipeline: :func:`blank` plus the IMR components in their order.

    ``entity_model`` is a directory of a trained entity pipeline to source the trained
    component from; without it only the rule components tag entities.
    """
    nlp = blank()
    for name in CORE_COMPONENTS:
        nlp.add_pipe(name)
    if with_entities:
        from .components.entities import add_entity_components

        add_entity_components(nlp, entity_model)
    return nlp


def with_entity_model(nlp: Language, ner_model: Path) -> Language:
    """Put the trained recognizer saved in ``ner_model`` into ``nlp`` as ``imr_ner`` (replacing
    one already there), just before the rule entity component, whose merge reads its spans."""
    source = spacy.load(ner_model, exclude=["tok2vec"])
    if "imr_ner" in nlp.pipe_names:
        nlp.remove_pipe("imr_ner")
    nlp.add_pipe("ner", name="imr_ner", source=source, before="imr_entities")
    return nlp


def training_base(base: Union[str, Path, None] = None) -> Language:
    """A pipeline to retrain a component of, loaded afresh (never the cached ``load()`` one, which
    training changes): ``base``, else the default saved pipeline, else a newly built one."""
    path = Path(base) if base is not None else default_model_path()
    if (path / "config.cfg").exists():
        return set_tokenizer_rules(spacy.load(path))
    if base is not None:
        raise FileNotFoundError(f"{path}: not a saved imr_nlp pipeline (no config.cfg)")
    nlp = build_pipeline()
    nlp.get_pipe("imr_linking").initialize()  # builds the ICD-10-CM index so to_disk saves it
    return nlp


def default_model_path() -> Path:
    return Path(os.environ.get(MODEL_ENV) or DEFAULT_MODEL)


def load(model: Union[str, Path, None] = None) -> Language:
    """The IMR pipeline, built once per process and model directory.

    ``model``: a directory written by ``nlp.to_disk`` (``imr-nlp train ... --out DIR``). Default:
    ``$IMR_NLP_MODEL`` or the repository's ``models/imr_pipeline``; if that is missing the
    pipeline is built from its rule components alone, with a warning.
    """
    path = Path(model) if model is not None else default_model_path()
    key = str(path.resolve())
    if key not in _LOADED:
        if (path / "config.cfg").exists():
            _LOADED[key] = spacy.load(path)
        elif model is not None:
            raise FileNotFoundError(f"{path}: not a saved imr_nlp pipeline (no config.cfg)")
        else:
            warnings.warn(f"{path}: no trained pipeline found; using the rule components only",
                          stacklevel=2)
            _LOADED[key] = build_pipeline()
    return _LOADED[key]
