"""Turn what a user hands us (letter text, a ``.txt`` or a ``.pdf`` path) into letter text.

Every error names the file it is about, because in a bulk run of thousands of letters an error
without a file name cannot be acted on.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Union

from .components.sections import DEFAULT_HEADINGS, heading_regex
from .text import plain_chars, spelt_out_glyphs

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
    that PDF extraction leaves ("QTY:\\u00a01.00:\\u00a0Upheld"), hyphen variants and curly quotes
    become plain ones (:func:`imr_nlp.text.plain_chars`); ligatures are spelt out and soft hyphens
    and zero-width characters dropped (:func:`imr_nlp.text.spelt_out_glyphs`). A Letter's offsets
    refer to this text (``Letter.text``). Page furniture goes too (:func:`drop_page_furniture`),
    and the sections' words are single-spaced (:func:`single_spaced_prose`).
    """
    text = spelt_out_glyphs(plain_chars(text.replace("\r\n", "\n").replace("\r", "\n")))
    return single_spaced_prose(drop_page_furniture(text))


# A run of spaces or tabs between two words of the letter's prose (justified text, another
# extractor's spacing, two spaces after a full stop).
_SPACE_RUN = re.compile(r"(?<=\S)[ \t]{2,}(?=\S)")


def single_spaced_prose(text: str) -> str:
    """``text`` with one space between the words of its sections (from the first section heading
    on); the header above keeps its columns.

    Why: the letters the recognizer learnt from have one space between words; two ("North
    Carolina" as "North  Carolina", text justified by the extractor) put a whitespace token between
    the words, which changed mentions in 26 of 40 letters tried and kept the double space in names
    read from the text. Letters with no section heading found are left as they are."""
    starts = [m.start() for m in (rx.search(text) for rx in _HEADINGS) if m]
    if not starts:
        return text
    cut = min(starts)
    return text[:cut] + _SPACE_RUN.sub(" ", text[cut:])


# A page number as a running header or footer prints it: "Page 2 of 9", "PAGE 2", "- 2 -", "2 of 9".
_PAGE_MARK = re.compile(r"\b(?:Page|PAGE)\s+\d{1,3}(?:\s+(?:of|OF)\s+\d{1,3})?\b|^-\s*\d{1,3}\s*-$|^\d{1,3}\s+of\s+\d{1,3}$")
# The case number a running header repeats, with or without its label.
_CASE_MARK = re.compile(r"^(?:(?:IMR\s+)?Case\s+(?:Number|No\.?)\s*:?\s*)?[A-Z]{2}\d{2}-\d{7}\b", re.IGNORECASE)
_BARE_NUMBER = re.compile(r"^\d{1,3}$")
_HEADINGS = [heading_regex(h) for h in DEFAULT_HEADINGS.values()]


def _furniture(line: str) -> tuple[bool, bool, bool]:
    """(has a page number, has a case number, has nothing else) for one line of text."""
    rest, pages = _PAGE_MARK.subn("", line.strip(" \t\f"))
    case = _CASE_MARK.search(rest.strip(" \t|-:,"))
    if case:
        rest = rest.replace(case.group(0), "")
    return bool(pages), bool(case), not re.search(r"\w", rest)


def drop_page_furniture(text: str) -> str:
    """Remove running page headers and footers that PDF text keeps between the lines of a letter:
    page numbers ("Page 2 of 9", "- 2 -", and a bare number next to a page break) and the case
    number a running header repeats, with the blank lines around them.

    Why: a footer inside a wrapped item name, citation or sentence ("Special Studies\n\nPage 2 of
    9\n\nMAXIMUS guideline") otherwise becomes part of it ("Special Studies. of 9"), and the blank
    lines around it read as a paragraph break that cuts an item's text. The lines around a removed
    footer are joined by one line break. The first line that gives the case number is kept (it
    may be the header itself) if it comes before the first section heading, with any page number
    on it removed; its repeats are dropped.
    """
    if "\f" not in text and not re.search(r"(?m)^[ \t]*(?:Page|PAGE|-[ \t]*\d)|^[ \t]*\d{1,3}[ \t]*$|"
                                          r"^[ \t]*(?:IMR[ \t]+)?Case[ \t]+N|^[ \t]*[A-Z]{2}\d{2}-\d{7}[ \t]*$", text):
        return text
    lines = text.split("\n")
    blank = [not ln.strip(" \t\f") for ln in lines]
    drop = [False] * len(lines)
    first_heading = min((text.count("\n", 0, m.start()) for m in (rx.search(text) for rx in _HEADINGS) if m),
                        default=len(lines))
    seen_case = False
    for i, line in enumerate(lines):
        if blank[i]:
            continue
        if i >= first_heading:
            seen_case = True  # past the header: a case number line is a running header's
        page, case, nothing_else = _furniture(line)
        if case and nothing_else:
            if seen_case:
                drop[i] = True
            else:  # the header's own case number line
                seen_case = True
                if page:
                    lines[i] = _PAGE_MARK.sub("", line).rstrip()
        elif (page and nothing_else) or (_BARE_NUMBER.match(line.strip(" \t\f")) and _at_page_break(lines, blank, i)):
            drop[i] = True
        elif case:
            seen_case = True
    if not any(drop):
        return "\n".join(lines)
    for i in [i for i, d in enumerate(drop) if d]:  # the blank lines around a dropped line go with it
        for step in (-1, 1):
            j = i + step
            while 0 <= j < len(lines) and (blank[j] or drop[j]):
                drop[j] = True
                j += step
    return "\n".join(ln for ln, d in zip(lines, drop) if not d)


def _at_page_break(lines: list[str], blank: list[bool], i: int) -> bool:
    """Whether line ``i`` touches a form feed (through blank lines) or is the last text line."""
    if "\f" in lines[i]:
        return True
    j = i - 1
    while j >= 0 and blank[j]:
        if "\f" in lines[j]:
            return True
        j -= 1
    j = i + 1
    while j < len(lines) and blank[j]:
        if "\f" in lines[j]:
            return True
        j += 1
    return j >= len(lines) or lines[j].lstrip(" \t").startswith("\f")


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
