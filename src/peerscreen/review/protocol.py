"""A review's protocol as data: criteria, rule patterns, categories, outcome domains.

`configs/review.toml` encodes the default review (Miyamoto & Sono 2012); another review is
another file of the same schema. `load_protocol` validates a file with pydantic and raises a
`ConfigError` naming the bad key, so a typo never silently disables a rule.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from peerscreen.errors import ConfigError
from peerscreen.paths import DEFAULT_CONFIG

#: A spaCy Matcher token pattern: a list of token specs ({"LOWER": "peer"}, {"OP": "?"}, ...).
TokenPattern = list[dict[str, Any]]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Cues(Strict):
    """Phrases (matched case-insensitively, token by token) and/or Matcher token patterns."""

    phrases: list[str] = Field(default_factory=list)
    patterns: list[TokenPattern] = Field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.phrases and not self.patterns


class Criterion(Strict):
    """An inclusion criterion, in words (used for criteria-text similarity and reports)."""

    code: str
    text: str


class ExclusionRule(Cues):
    """An exclusion code: its description and the rule patterns that detect it.

    `confidence` is the rule's prior precision for a non-negated hit in the abstract; a hit
    in the title counts more (`title_boost`). `metadata` rules (the date/language window)
    have no text patterns and are checked against the record's fields.
    """

    code: str
    description: str
    confidence: float = Field(0.6, ge=0, le=1)
    title_boost: float = Field(0.2, ge=0, le=1)
    metadata: bool = False

    @model_validator(mode="after")
    def _needs_patterns(self) -> ExclusionRule:
        if not self.metadata and self.empty:
            raise ValueError(f"exclusion '{self.code}' has no phrases or patterns")
        return self


class Label(Cues):
    """A category or outcome domain: code, definition, and cue lexicon."""

    code: str
    name: str
    definition: str


class Window(Strict):
    """The search window: records outside it are flagged `out_of_window`, never dropped."""

    start_year: int = Field(ge=1800, le=2100)
    start_month: int = Field(1, ge=1, le=12)
    end_year: int = Field(ge=1800, le=2100)
    end_month: int = Field(12, ge=1, le=12)
    languages: list[str] = Field(default_factory=lambda: ["en"])

    @model_validator(mode="after")
    def _ordered(self) -> Window:
        if (self.end_year, self.end_month) < (self.start_year, self.start_month):
            raise ValueError("window ends before it starts")
        return self


class Negation(Strict):
    """NegEx-style scope: cues before or after a hit cancel it within the same clause."""

    before: list[str] = Field(default_factory=list)
    after: list[str] = Field(default_factory=list)
    terminators: list[str] = Field(default_factory=lambda: ["but", "however", ";", "."])
    window: int = Field(6, ge=1, le=30)


class ReviewInfo(Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    title: str
    citation: str = ""
    question: str = ""


class Protocol(Strict):
    """A whole review protocol."""

    schema_version: Literal[1] = 1
    review: ReviewInfo
    inclusion: list[Criterion]
    exclusion: list[ExclusionRule]
    categories: list[Label]
    outcomes: list[Label]
    window: Window
    negation: Negation = Field(default_factory=Negation)
    design: dict[str, Cues] = Field(default_factory=dict)
    population: dict[str, Cues] = Field(default_factory=dict)
    mesh_to_outcome: dict[str, str] = Field(default_factory=dict)
    none_category: str = "none"

    @field_validator("exclusion", "categories", "outcomes")
    @classmethod
    def _unique_codes(cls, items: list) -> list:
        codes = [item.code for item in items]
        repeated = sorted({c for c in codes if codes.count(c) > 1})
        if repeated:
            raise ValueError(f"codes repeated: {', '.join(repeated)}")
        return items

    @model_validator(mode="after")
    def _references(self) -> Protocol:
        outcome_codes = set(self.outcome_codes)
        unknown = sorted({v for v in self.mesh_to_outcome.values() if v not in outcome_codes})
        if unknown:
            raise ValueError(f"mesh_to_outcome maps to unknown outcome codes: {', '.join(unknown)}")
        if self.none_category not in self.category_codes:
            raise ValueError(f"none_category '{self.none_category}' is not a category code")
        return self

    @property
    def exclusion_codes(self) -> list[str]:
        return [rule.code for rule in self.exclusion]

    @property
    def category_codes(self) -> list[str]:
        return [c.code for c in self.categories]

    @property
    def outcome_codes(self) -> list[str]:
        return [o.code for o in self.outcomes]

    def criteria_text(self) -> str:
        """The eligibility criteria in words: what cold-start ranking compares records to."""
        parts = [self.review.title, self.review.question]
        parts += [c.text for c in self.inclusion]
        return " ".join(p for p in parts if p)

    def digest(self) -> str:
        """A stable hash of the validated content (logged with every model)."""
        payload = json.dumps(self.model_dump(mode="json"), sort_keys=True).encode()
        return hashlib.sha256(payload).hexdigest()[:16]


def _location(error: dict) -> str:
    return ".".join(str(part) for part in error["loc"]) or "(top level)"


def load_protocol(path: str | Path | None = None) -> Protocol:
    """Read and validate a protocol TOML file (the default review when `path` is None)."""
    path = Path(path) if path is not None else DEFAULT_CONFIG
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a UTF-8 text file") from None
    try:
        return Protocol.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise ConfigError(f"{path}: {_location(first)}: {first['msg']}{more}") from None
