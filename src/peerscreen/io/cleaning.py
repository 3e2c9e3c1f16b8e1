"""Text and identifier normalisation applied to every record, whatever its source.

Readers hand over raw strings; cleaning makes them comparable across exports: markup from
JATS/HTML abstracts removed, entities unescaped, whitespace collapsed, Unicode in NFC, and
empty strings treated as missing. Functions are written with fast paths because they run
on every field of every record (hundreds of thousands per import).
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable, Sequence

_TAG = re.compile(r"<\s*/?\s*[A-Za-z][\w:.-]*(?:\s[^<>]*)?/?\s*>", re.ASCII)
_WS = re.compile(r"\s+")
_YEAR = re.compile(r"(?<!\d)(1[5-9]\d\d|20\d\d|21\d\d)(?!\d)")
_DOI = re.compile(r"10\.\d{4,9}/\S+")
_PMID = re.compile(r"(\d{1,9})\s*$")


def clean_text(value: object) -> str | None:
    """Return `value` as clean text, or None when it is missing or blank.

    Strips HTML/JATS tags, unescapes entities, collapses whitespace, trims and normalises to
    NFC. Non-strings (NaN, None) become None.
    """
    if not isinstance(value, str):
        return None
    if not value:
        return None
    text = value
    if "<" in text:
        text = _TAG.sub(" ", text)
    if "&" in text:
        text = html.unescape(text)
    if "  " in text or "\n" in text or "\t" in text or "\r" in text or "\xa0" in text:
        text = _WS.sub(" ", text)
    text = text.strip()
    if not text:
        return None
    if not text.isascii() and not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    return text


def clean_list(values: Iterable[object] | None) -> list[str]:
    """Clean each item of a list-like field and drop the empty ones, keeping order."""
    if values is None or isinstance(values, str | bytes):
        values = [] if values is None else [values]
    out = []
    for item in values:
        text = clean_text(item)
        if text is not None:
            out.append(text)
    return out


def split_list(value: object, separators: str = ";") -> list[str]:
    """Split a delimited text cell ("a; b; c") into a clean list."""
    if isinstance(value, list | tuple):
        return clean_list(value)
    text = clean_text(value)
    if text is None:
        return []
    for sep in separators[1:]:
        text = text.replace(sep, separators[0])
    return clean_list(text.split(separators[0]))


def parse_year(value: object) -> int | None:
    """Extract a publication year from "2004", "2004//", "2006/03/01", "1998 Jan-Feb", 2004.0."""
    if value is None:
        return None
    if isinstance(value, int | float):
        if value != value:  # NaN
            return None
        year = int(value)
        return year if 1000 <= year <= 2999 else None
    match = _YEAR.search(str(value))
    return int(match.group(1)) if match else None


def normalise_doi(value: object) -> str | None:
    """Lower-cased bare DOI ("10.1000/xyz"), from URLs, "doi:" prefixes or "[doi]" suffixes."""
    text = clean_text(value)
    if text is None:
        return None
    match = _DOI.search(text)
    if not match:
        return None
    doi = match.group(0).rstrip(".,;")
    return doi.lower() if _DOI.fullmatch(doi) else None


def normalise_pmid(value: object) -> str | None:
    """PMID as a digit string, from "12345", 12345.0 or a PubMed URL."""
    if isinstance(value, float):
        if value != value:
            return None
        value = int(value)
    if isinstance(value, int):
        return str(value)
    text = clean_text(value)
    if text is None:
        return None
    text = text.rstrip("/")
    match = _PMID.search(text)
    return match.group(1) if match else None


_TITLE_KEY = re.compile(r"[^0-9a-z]+")


_ASCII_NON_ALNUM = str.maketrans(
    "", "", "".join(chr(c) for c in range(128) if not chr(c).isalnum())
)


def title_key(title: str | None) -> str | None:
    """A title reduced to lower-case alphanumerics (accents dropped), for duplicate detection."""
    if not title:
        return None
    if title.isascii():  # fast path: most titles
        key = title.lower().translate(_ASCII_NON_ALNUM)
    else:
        decomposed = unicodedata.normalize("NFKD", title.lower())
        key = _TITLE_KEY.sub("", decomposed.encode("ascii", "ignore").decode())
    return key or None


# -- column versions: what readers and record sets call on whole columns --------------------
# Plain comprehensions over `clean_text`: its substring fast paths beat Arrow's regex kernels
# (measured: 0.3 s vs 2.7 s for 100k abstracts), and one implementation means one behaviour.


def clean_texts(values: Sequence[object]) -> list[str | None]:
    """`clean_text` over a whole column."""
    return [clean_text(v) for v in values]


def clean_lists(values: Sequence[object]) -> list[list[str]]:
    """`clean_list` over a column of lists (a bare string counts as a one-item list)."""
    return [clean_list(v) if isinstance(v, list | tuple | str) else [] for v in values]


def split_cells(values: Sequence[object], separator: str = ";") -> list[list[str] | None]:
    """Split delimited text cells ("a; b") into raw item lists; cleaning happens later."""
    return [v.split(separator) if isinstance(v, str) else v for v in values]
