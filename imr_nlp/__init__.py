"""imr_nlp: California Independent Medical Review (IMR) letters as structured data.

    >>> import imr_nlp
    >>> letter = imr_nlp.parse("path/to/letter.pdf")     # or the letter's text
    >>> letter.case_number, [(i.text, i.decision) for i in letter.items]
"""
from __future__ import annotations

from typing import Union

from .letter import DenialReason, DisputedItem, Entity, GuidelineCitation, Letter, PartialCertification
from .pipeline import build_pipeline, load
from .sources import LetterSourceError, Source, letter_text

__version__ = "0.1.0"
__all__ = [
    "parse", "load", "build_pipeline", "Letter", "DisputedItem", "GuidelineCitation", "DenialReason",
    "Entity", "PartialCertification", "LetterSourceError", "tag_corpus", "train_reasons", "train_entities",
    "export_labels",
]


def parse(source: Source, model: Union[str, None] = None) -> Letter:
    """Parse one IMR letter given as text, or as the path of a ``.txt`` or ``.pdf`` file.

    Raises ``TypeError`` for a source of another type, ``ValueError`` for empty text and
    :class:`LetterSourceError` (a ``ValueError`` naming the file) for an unreadable file. Text
    that is not an IMR letter gives a ``Letter`` whose ``warnings`` say what was not found.
    """
    text = letter_text(source)
    nlp = load(model)
    if len(text) > nlp.max_length:
        raise ValueError(f"letter text has {len(text):,} characters, more than the pipeline's limit of "
                         f"{nlp.max_length:,}; is this one letter?")
    return Letter.from_doc(nlp(text))


def __getattr__(name: str):
    # Heavy optional parts are imported on first use, so `import imr_nlp` stays quick.
    if name == "tag_corpus":
        from .bulk import tag_corpus
        return tag_corpus
    if name in ("train_reasons", "export_labels"):
        from . import training_reasons
        return getattr(training_reasons, name)
    if name == "train_entities":
        from .training import train_entities
        return train_entities
    raise AttributeError(f"module 'imr_nlp' has no attribute {name!r}")
