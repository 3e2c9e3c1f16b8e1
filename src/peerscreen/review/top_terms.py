"""Top terms a reviewer can use: the words behind a record's score, minus boilerplate.

The model reports the word features that pushed each record's inclusion score up most
(`ReviewModel.top_terms`). In a record set where nearly every abstract says "study",
"results" or "patients", those words carry weight for every record alike and tell a
reviewer nothing about this one. So ranking asks the model for a few more candidates than
it shows (`CANDIDATES`), counts in how many of the records being ranked each word occurs
(`DocumentFrequency`, one pass, chunk by chunk), learns a stop list from those counts once
per run (`DocumentFrequency.boilerplate`), and keeps the first `SHOWN` candidates that are
not boilerplate (`without_boilerplate`).

Words are counted the way the word features read text (lower case, accents stripped,
tokens of two or more word characters), so a candidate term's words can be looked up.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence

import pandas as pd

from peerscreen.io.writers import LIST_SEPARATOR

#: Terms shown per record, and candidates asked of the model to choose them from.
SHOWN = 5
CANDIDATES = 15
#: A word in more than this share of the records is boilerplate for this record set.
MAX_SHARE = 0.4
#: Words of every abstract (reporting, design and population vocabulary): boilerplate as
#: soon as they are common (in more than `GENERIC_SHARE` of the records).
GENERIC_WORDS = frozenset(
    """
    study studies studied result results method methods background conclusion conclusions
    objective objectives aim aims purpose introduction discussion patient patients
    participant participants subject subjects people individuals group groups sample data
    analysis analyses analysed analyzed finding findings effect effects outcome outcomes
    significant significantly compared associated association use used using based
    including included total number year years month months week weeks time level levels
    rate rates score scores measure measures measured report reported reports review
    research paper article evidence present current new high higher low lower increase
    increased decrease reduced reduction showed shows found suggest suggests conducted
    examined assessed evaluated investigate investigated
    """.split()  # noqa: SIM905 (a word list reads better as prose)
)
GENERIC_SHARE = 0.1
#: Below this many records document frequency says little: only generic words are dropped.
MIN_RECORDS = 20
_TOKEN = re.compile(r"(?u)\b\w\w+\b")


def words(text: str) -> list[str]:
    """Tokens as the word features see them: lower case, accents stripped."""
    text = unicodedata.normalize("NFKD", text.lower())
    if not text.isascii():
        text = "".join(c for c in text if not unicodedata.combining(c))
    return _TOKEN.findall(text)


class DocumentFrequency:
    """In how many records each word occurs; fed chunk by chunk (`add`)."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.n_records = 0

    def add(self, frame: pd.DataFrame) -> None:
        """Count the words of each record's title and abstract (once per record)."""
        columns = [frame[c] for c in ("title", "abstract") if c in frame]
        for parts in zip(*columns, strict=True) if columns else ():
            text = " ".join(p for p in parts if isinstance(p, str))
            self.counts.update(set(words(text)))
        self.n_records += len(frame)

    def boilerplate(self) -> frozenset[str]:
        """The stop list of this record set: very frequent words, and common generic ones."""
        n = self.n_records
        if n == 0:
            return frozenset()
        if n < MIN_RECORDS:
            return frozenset(w for w in GENERIC_WORDS if self.counts[w])
        return frozenset(
            w
            for w, count in self.counts.items()
            if count > MAX_SHARE * n or (w in GENERIC_WORDS and count > GENERIC_SHARE * n)
        )


def without_boilerplate(
    cells: Iterable[object], stop: frozenset[str], shown: int = SHOWN
) -> list[str]:
    """Each record's candidate terms ('a; b c; ...'), boilerplate dropped, first `shown` kept.

    A term of several words (a bigram feature) is dropped only when all its words are
    boilerplate: "peer support" stays in a set where "support" is everywhere.
    """
    out = []
    for cell in cells:
        terms = cell.split(LIST_SEPARATOR) if isinstance(cell, str) and cell else []
        kept = [t for t in terms if not _is_boilerplate(t, stop)]
        out.append(LIST_SEPARATOR.join(kept[:shown]))
    return out


def _is_boilerplate(term: str, stop: frozenset[str]) -> bool:
    tokens: Sequence[str] = words(term)
    return bool(tokens) and all(t in stop for t in tokens)


def clean_top_terms(table: pd.DataFrame, stop: frozenset[str]) -> pd.DataFrame:
    """`table` with its `top_terms` column filtered (unchanged when it has none)."""
    if "top_terms" not in table:
        return table
    return table.assign(top_terms=without_boilerplate(table["top_terms"], stop))
