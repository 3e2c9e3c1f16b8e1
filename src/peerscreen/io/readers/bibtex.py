"""BibTeX (.bib) files, parsed by a small tolerant reader written for bibliographic exports.

Handles braced and quoted values, `#` concatenation, `@string` macros, `@comment` and
`@preamble` blocks, and turns common LaTeX accents (`{\\"u}`, `\\'e`, `\\c{c}`, `\\ss`) and
escapes (`\\&`) into Unicode. The citation key becomes the record id.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from typing import Any

from peerscreen.errors import InputError
from peerscreen.io.cleaning import split_list
from peerscreen.io.readers.base import (
    Columns,
    ReaderSpec,
    ReadNotes,
    check_field_sizes,
    read_text,
    register_reader,
    rows_to_columns,
    split_pages,
)

_ENTRY = re.compile(r"@\s*([A-Za-z]+)\s*([{(])")
_FIELD_NAME = re.compile(r"\s*([A-Za-z][\w:.+-]*)\s*=\s*")
_ACCENTS = {
    '"': "\u0308",
    "'": "\u0301",
    "`": "\u0300",
    "^": "\u0302",
    "~": "\u0303",
    "=": "\u0304",
    ".": "\u0307",
    "c": "\u0327",
    "v": "\u030c",
    "u": "\u0306",
    "H": "\u030b",
    "r": "\u030a",
    "k": "\u0328",
}
_SYMBOL_ACCENT = re.compile(r"\\([\"'`^~=.])\s*(?:\{\s*(\\i|\\j|[A-Za-z])\s*\}|(\\i|\\j|[A-Za-z]))")
_LETTER_ACCENT = re.compile(r"\\([cvuHrk])(?:\s*\{\s*(\\i|[A-Za-z])\s*\}|\s+([A-Za-z]))")
_NAMED = {
    r"\ss": "ß",
    r"\o": "ø",
    r"\O": "Ø",
    r"\ae": "æ",
    r"\AE": "Æ",
    r"\aa": "å",
    r"\AA": "Å",
    r"\l": "ł",
    r"\L": "Ł",
    r"\oe": "œ",
    r"\OE": "Œ",
    r"\i": "ı",
}
_NAMED_RE = re.compile(r"\\(ss|o|O|ae|AE|aa|AA|l|L|oe|OE|i)(?![A-Za-z])\s*")
_ESCAPED = re.compile(r"\\([&%$#_{}])")
_COMMAND = re.compile(r"\\(?:emph|textit|textbf|textrm|textsc|mathrm|text)\s*")
MONTHS = {
    m: str(i)
    for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1
    )
}


class BibtexSyntaxError(ValueError):
    def __init__(self, message: str, offset: int):
        super().__init__(message)
        self.offset = offset


def latex_to_unicode(text: str) -> str:
    """Turn LaTeX accents, named letters and escapes into Unicode; drop grouping braces."""

    def accent(match: re.Match) -> str:
        base = match.group(2) or match.group(3)
        base = {"\\i": "i", "\\j": "j"}.get(base, base)
        return unicodedata.normalize("NFC", base + _ACCENTS[match.group(1)])

    if "\\" in text:
        text = _SYMBOL_ACCENT.sub(accent, text)
        text = _LETTER_ACCENT.sub(accent, text)
        text = _NAMED_RE.sub(lambda m: _NAMED["\\" + m.group(1)], text)
        text = _COMMAND.sub("", text)
        text = _ESCAPED.sub(r"\1", text.replace("\\{", "\x00").replace("\\}", "\x01"))
    text = text.replace("{", "").replace("}", "").replace("\x00", "{").replace("\x01", "}")
    return text.replace("---", "—").replace("--", "–").replace("~", " ")


def _braced(text: str, start: int) -> tuple[str, int]:
    """Content of the balanced group opening at text[start] == '{'; returns (content, end)."""
    depth, i = 0, start
    while i < len(text):
        char = text[i]
        if char == "\\":
            i += 2
            continue
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return text[start + 1 : i], i + 1
        i += 1
    raise BibtexSyntaxError("unbalanced braces", start)


def _quoted(text: str, start: int) -> tuple[str, int]:
    depth, i = 0, start + 1
    while i < len(text):
        char = text[i]
        if char == "\\":
            i += 2
            continue
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
        elif char == '"' and depth == 0:
            return text[start + 1 : i], i + 1
        i += 1
    raise BibtexSyntaxError("unterminated quoted value", start)


def _value(text: str, i: int, strings: dict[str, str]) -> tuple[str, int]:
    """A field value with '#' concatenation; returns (raw value, position after it)."""
    parts = []
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if i >= len(text):
            raise BibtexSyntaxError("value missing at end of file", i)
        char = text[i]
        if char == "{":
            part, i = _braced(text, i)
        elif char == '"':
            part, i = _quoted(text, i)
        else:
            match = re.compile(r"[\w.:+-]+").match(text, i)
            if not match:
                raise BibtexSyntaxError(f"unexpected character {char!r}", i)
            word = match.group(0)
            part = strings.get(
                word.lower(), MONTHS.get(word.lower()[:3], word) if not word.isdigit() else word
            )
            i = match.end()
        parts.append(part)
        while i < len(text) and text[i].isspace():
            i += 1
        if i < len(text) and text[i] == "#":
            i += 1
            continue
        return "".join(parts), i


def parse_bibtex(text: str) -> list[dict[str, str]]:
    """All entries of a BibTeX text as dicts (lower-case field names, 'ENTRYTYPE', 'ID')."""
    entries: list[dict[str, str]] = []
    strings: dict[str, str] = {}
    i = 0
    while True:
        match = _ENTRY.search(text, i)
        if not match:
            return entries
        kind, opener = match.group(1).lower(), match.group(2)
        start = match.start()
        if kind in ("comment", "preamble"):
            if opener == "{":
                _, i = _braced(text, match.end() - 1)
            else:
                close = text.find(")", match.end())
                i = close + 1 if close >= 0 else len(text)
            continue
        closer = "}" if opener == "{" else ")"
        i = match.end()
        entry: dict[str, str] = {"ENTRYTYPE": kind}
        if kind != "string":
            comma = text.find(",", i)
            end = text.find(closer, i)
            if comma < 0 or (0 <= end < comma):
                key = text[i:end].strip() if end >= 0 else ""
                entry["ID"] = key
                entries.append(entry)
                i = end + 1 if end >= 0 else len(text)
                continue
            entry["ID"] = text[i:comma].strip()
            i = comma + 1
        while True:
            while i < len(text) and (text[i].isspace() or text[i] == ","):
                i += 1
            if i >= len(text):
                raise BibtexSyntaxError("entry is not closed", start)
            if text[i] == closer:
                i += 1
                break
            name = _FIELD_NAME.match(text, i)
            if not name:
                raise BibtexSyntaxError("expected 'field = value'", i)
            value, i = _value(text, name.end(), strings)
            if kind == "string":
                strings[name.group(1).lower()] = value
            else:
                entry[name.group(1).lower()] = value
        if kind != "string":
            entries.append(entry)


def _authors(value: str | None) -> list[str]:
    if not value:
        return []
    return [latex_to_unicode(a).strip() for a in re.split(r"\s+and\s+", value) if a.strip()]


def entry_to_row(entry: dict[str, str]) -> dict[str, Any]:
    def get(name: str) -> str | None:
        value = entry.get(name)
        return latex_to_unicode(value) if value is not None else None

    keywords = get("keywords") or get("keyword")
    return {
        "record_id": entry.get("ID") or None,
        "title": get("title"),
        "abstract": get("abstract"),
        "authors": _authors(entry.get("author")),
        "year": get("year") or get("date"),
        "journal": get("journal") or get("journaltitle") or get("booktitle"),
        "doi": get("doi"),
        "pmid": get("pmid"),
        "keywords": split_list(keywords, ";,") if keywords else [],
        "mesh": split_list(get("mesh"), ";") if entry.get("mesh") else [],
        "language": get("language"),
        "entry_type": entry.get("ENTRYTYPE"),
        "volume": get("volume"),
        "issue": get("number") or get("issue"),
        **dict(zip(("start_page", "end_page"), split_pages(get("pages")), strict=True)),
        "url": get("url"),
    }


def read_bibtex(path: Path, notes: ReadNotes) -> Columns:
    text = read_text(path, notes)
    try:
        entries = parse_bibtex(text)
    except BibtexSyntaxError as exc:
        line = text.count("\n", 0, exc.offset) + 1
        raise InputError(path, f"malformed BibTeX ({exc})", location=f"line {line}") from None
    if not entries:
        raise InputError(path, "no BibTeX entry found (no '@type{' line)")
    columns = rows_to_columns([entry_to_row(e) for e in entries])
    check_field_sizes(path, columns, unit="entry")
    return columns


register_reader(
    ReaderSpec(
        name="bibtex",
        read=read_bibtex,
        extensions=(".bib", ".bibtex"),
        sniff=lambda head: bool(re.search(rb"(?m)^\s*@\s*[A-Za-z]+\s*[{(]", head)),
        description="BibTeX",
    )
)
