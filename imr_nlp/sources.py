"""Turn what a user hands us (letter text, a ``.txt`` or a ``.pdf`` path) into letter text.

Every error names the file it is about, because in a bulk run of thousands of letters an error
without a file name cannot be acted on.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Union

from .text import plain_chars

Source = Union[str, os.PathLike]

TEXT_SUFFIXES = {".txt", ".text"}
PDF_SUFFIXES = {".pdf"}


class LetterSourceError(ValueError):
    """A letter could not be read from its source; the message names the file and the cause."""


def read_pdf(path: Path) -> str:
    """Extract the text of a PDF letter with PDFium (pypdfium2, Apache-2.0/BSD).

    PDFium keeps the reading order of the IMR header good enough that "Label: value" pairs stay
    together. Pages are joined with a form feed, as ``pdftotext`` does.
    """
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as err:  # corrupt, encrypted or not a PDF
        raise LetterSourceError(f"{path}: cannot open PDF ({err})") from err
    try:
        pages = []
        for page in pdf:
            textpage = page.get_textpage()
            pages.append(textpage.get_text_bounded())  # line ends: letter_text
            textpage.close()
            page.close()
    except pdfium.PdfiumError as err:
        raise LetterSourceError(f"{path}: cannot read PDF text ({err})") from err
    finally:
        pdf.close()
    return "\f".join(pages)


def read_text_file(path: Path) -> str:
    """Read a text letter as UTF-8, falling back to Windows-1252 (common in extracted letters)."""
    try:
        data = path.read_bytes()
    except OSError as err:
        raise LetterSourceError(f"{path}: cannot read file ({err.strerror or err})") from err
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def read_path(path: Source) -> str:
    """Read a letter file by its suffix; raise :class:`LetterSourceError` naming the file."""
    path = Path(path)
    if not path.exists():
        raise LetterSourceError(f"{path}: no such file")
    if not path.is_file():
        raise LetterSourceError(f"{path}: not a file")
    suffix = path.suffix.lower()
    if suffix in PDF_SUFFIXES:
        return read_pdf(path)
    if suffix in TEXT_SUFFIXES:
        return read_text_file(path)
    raise LetterSourceError(f"{path}: unsupported file type {suffix!r} (expected .txt or .pdf)")


def looks_like_path(source: str) -> bool:
    """A short one-line string ending in .txt/.pdf is a path; a letter is never that."""
    return (
        "\n" not in source
        and len(source) < 4096
        and Path(source.strip()).suffix.lower() in TEXT_SUFFIXES | PDF_SUFFIXES
    )


def letter_text(source: Source) -> str:
    """Return the text of a letter given as text, a path string or a ``PathLike``, normalized by
    :func:`normalize_text`.

    Raises ``TypeError`` for other types, ``ValueError`` for empty text and
    :class:`LetterSourceError` (a ``ValueError``) for files that cannot be read.
    """
    if isinstance(source, os.PathLike):
        text = read_path(source)
        where = f"{os.fspath(source)}: "
    elif isinstance(source, str):
        if looks_like_path(source):
            text = read_path(source.strip())
            where = f"{source.strip()}: "
        else:
            text, where = source, ""
    elif isinstance(source, bytes):
        raise TypeError("parse() takes letter text (str) or a path, not bytes; decode the bytes first")
    else:
        raise TypeError(f"parse() takes letter text (str) or a path, not {type(source).__name__}")
    if not text.strip():
        raise ValueError(f"{where}letter text is empty")
    return normalize_text(text)


def normalize_text(text: str) -> str:
    """Line ends, spaces and quotes as the rules and the recognizer learnt them: Windows ("\\r\\n")
    and old Mac ("\\r") line ends become "\\n", as in PDF text; no-break and other Unicode spaces
    that PDF extraction leaves ("QTY:\\u00a01.00:\\u00a0Upheld") and curly quotes become plain ones,
    one for one (:func:`imr_nlp.text.plain_chars`). A Letter's offsets refer to this text
    (``Letter.text``)."""
    return plain_chars(text.replace("\r\n", "\n").replace("\r", "\n"))


def corpus_letters(folder: Source) -> dict[str, Path]:
    """The letters of a corpus folder by file stem (the case number): ``{stem: path}``.

    ``.txt`` is preferred where a letter is there both as ``.txt`` and ``.pdf``.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise LetterSourceError(f"{folder}: not a folder of letters")
    out: dict[str, Path] = {}
    for p in sorted(folder.iterdir()):
        suffix = p.suffix.lower()
        if p.is_file() and suffix in TEXT_SUFFIXES | PDF_SUFFIXES:
            if p.stem not in out or suffix in TEXT_SUFFIXES:
                out[p.stem] = p
    return out
