"""A review's protocol as data: criteria, rule patterns, categories, outcome domains.

`configs/review.toml` encodes the default review (Miyamoto & Sono 2012); another review is
another file of the same schema (`peerscreen protocol new` writes a commented template).
Categories, outcome domains and the date/language window are optional: a review that only
screens needs criteria in words and exclusion codes. `load_protocol` validates a file with
pydantic and raises a `ProtocolError` that lists every problem at once, each naming its key
(`exclusion.youth_only.confidence: must be between 0 and 1`), so a reviewer fixes a file in
one pass and a typo never silently disables a rule.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
import tomllib
import types
import typing
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

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
    #: population cue names (`[population.*]`): a live cue of one in the record cancels
    #: this rule (youth_only does not fire on "children and adults")
    unless_population: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _needs_patterns(self) -> ExclusionRule:
        if not self.metadata and self.empty:
            raise ValueError(
                "has no phrases or patterns (add cues, or set "
                "`metadata = true` for the date/language window rule)"
            )
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


class Scope(Strict):
    """Clause scope for exclusion cues (`review.clause_scope`): a cue inside a concessive
    clause, or before a contrast that restricts ("..., but ... only ..."), is not a hit.
    English markers by default; empty `concessive` and `contrastive` lists turn it off."""

    concessive: list[str] = Field(
        default_factory=lambda: [
            "although", "though", "even though", "even if", "while", "whereas", "despite",
            "in spite of", "albeit",
        ]
    )  # fmt: skip
    contrastive: list[str] = Field(default_factory=lambda: ["but", "however", "yet"])
    restrictive: list[str] = Field(
        default_factory=lambda: ["only", "exclusively", "solely", "entirely"]
    )
    coordinators: list[str] = Field(default_factory=lambda: ["and", "or"])
    clause_breaks: list[str] = Field(default_factory=lambda: [";", ":"])
    list_item: int = Field(4, ge=1, le=12)


class EvidenceRules(Strict):
    """When a tag counts as found in the record's own words (`review.evidence`): a cue of
    the domain or category in a sentence of one of `roles`, not negated, and not inside an
    `ignore` phrase ("confidence interval" is no self-confidence). A score at or above
    `outcome_without_cue` / `category_without_cue` tags without a cue (1.0: never).
    A category may rest on its own cues or on `category_cues` (the study is about peer
    support; which kind is the model's call). `outcome_floors` are per-domain minimum
    scores on top of the model's own thresholds, chosen for precision on real abstracts
    (`benchmarks/outcome_floors.py`). Exclusion flags whose every hit is in a background
    sentence do not fire unless `flags_in_background`."""

    roles: list[Literal["title", "background", "methods", "results", "conclusion"]] = Field(
        default_factory=lambda: ["title", "methods", "results", "conclusion"]
    )
    outcome_floors: dict[str, float] = Field(default_factory=dict)
    #: per domain, how many sentences must hold a cue (the title counts `title_weight`)
    outcome_min_sentences: dict[str, int] = Field(default_factory=dict)
    title_weight: int = Field(2, ge=1, le=5)
    outcome_without_cue: float = Field(1.0, ge=0, le=1.0)
    category_without_cue: float = Field(1.0, ge=0, le=1.0)
    #: cues that a study is about peer support at all: any category may rest on them
    category_cues: list[str] = Field(default_factory=list)
    ignore: list[str] = Field(default_factory=list)
    flags_in_background: bool = False


class ReviewInfo(Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    title: str
    citation: str = ""
    question: str = ""


class Protocol(Strict):
    """A whole review protocol.

    Only `review`, `inclusion` and `exclusion` are required. Without `categories` and
    `outcomes` the models predict inclusion only; without `window` there is no date or
    language check (and no `metadata` exclusion rule may ask for one). Cross-references
    are checked by field validators, field by field, so they are reported together with
    every other problem and each names its own key.
    """

    schema_version: Literal[1] = 1
    review: ReviewInfo
    inclusion: list[Criterion] = Field(min_length=1)
    exclusion: list[ExclusionRule]
    categories: list[Label] = Field(default_factory=list)
    outcomes: list[Label] = Field(default_factory=list)
    window: Window | None = Field(None, validate_default=True)
    negation: Negation = Field(default_factory=Negation)
    scope: Scope = Field(default_factory=Scope)
    design: dict[str, Cues] = Field(default_factory=dict)
    population: dict[str, Cues] = Field(default_factory=dict)
    mesh_to_outcome: dict[str, str] = Field(default_factory=dict, validate_default=True)
    none_category: str = Field("none", validate_default=True)
    evidence: EvidenceRules = Field(default_factory=EvidenceRules, validate_default=True)

    @field_validator("inclusion", "exclusion", "categories", "outcomes")
    @classmethod
    def _unique_codes(cls, items: list) -> list:
        codes = [item.code for item in items]
        repeated = sorted({c for c in codes if codes.count(c) > 1})
        if repeated:
            raise ValueError(f"codes repeated: {', '.join(repeated)}")
        return items

    @field_validator("window")
    @classmethod
    def _window_for_metadata_rules(cls, window: Window | None, info: ValidationInfo) -> Any:
        rules = info.data.get("exclusion") or []
        needing = [rule.code for rule in rules if rule.metadata]
        if window is None and needing:
            raise ValueError(
                f"needed by exclusion '{needing[0]}', a metadata rule (the date/language "
                "check): add a [window] table, or remove that rule"
            )
        return window

    @field_validator("mesh_to_outcome")
    @classmethod
    def _mesh_outcomes_known(cls, mapping: dict[str, str], info: ValidationInfo) -> Any:
        if "outcomes" not in info.data:  # outcomes had errors of their own: reported there
            return mapping
        known = {o.code for o in info.data["outcomes"]}
        unknown = sorted({v for v in mapping.values() if v not in known})
        if unknown:
            raise ValueError(f"maps to unknown outcome codes: {', '.join(unknown)}")
        return mapping

    @field_validator("population")
    @classmethod
    def _unless_population_known(cls, population: dict, info: ValidationInfo) -> Any:
        for rule in info.data.get("exclusion") or []:
            unknown = sorted(set(rule.unless_population) - set(population))
            if unknown:
                raise ValueError(
                    f"exclusion '{rule.code}' names unknown populations in "
                    f"unless_population: {', '.join(unknown)}"
                )
        return population

    @field_validator("evidence")
    @classmethod
    def _floors_known(cls, rules: EvidenceRules, info: ValidationInfo) -> Any:
        known = {o.code for o in info.data.get("outcomes") or []}
        unknown = sorted((set(rules.outcome_floors) | set(rules.outcome_min_sentences)) - known)
        if "outcomes" in info.data and unknown:
            raise ValueError(f"floors for unknown outcome codes: {', '.join(unknown)}")
        return rules

    @field_validator("none_category")
    @classmethod
    def _none_is_a_category(cls, code: str, info: ValidationInfo) -> Any:
        categories = info.data.get("categories") or []
        codes = [c.code for c in categories]
        if codes and code not in codes:
            raise ValueError(f"'{code}' is not a category code (categories: {', '.join(codes)})")
        return code

    @property
    def screens_only(self) -> bool:
        """True when there is nothing to tag: no categories and no outcome domains."""
        return not self.categories and not self.outcomes

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


class ProtocolError(ConfigError):
    """A protocol file failed validation: every problem at once, one line each.

    `problems` holds (key, message) pairs, the key dotted with list items named by their
    code (`exclusion.youth_only.confidence`), so a reviewer can find each one in the file.
    """

    def __init__(self, path: str | Path, problems: list[tuple[str, str]]):
        self.path = str(path)
        self.problems = problems
        super().__init__("\n".join(f"{self.path}: {key}: {message}" for key, message in problems))


def validation_problems(exc: ValidationError, data: Any) -> list[tuple[str, str]]:
    """Every pydantic error as (key, message) in words a protocol's author can act on."""
    return [(_key(error["loc"], data), _message(error)) for error in exc.errors()]


def _key(loc: tuple, data: Any) -> str:
    """The dotted key of an error; a list item that has a `code` is named by it."""
    parts: list[str] = []
    node = data
    for part in loc:
        label = str(part)
        if isinstance(part, int) and isinstance(node, list) and 0 <= part < len(node):
            node = node[part]
            code = node.get("code") if isinstance(node, dict) else None
            if isinstance(code, str) and code.strip():
                label = code
        else:
            node = node.get(part) if isinstance(node, dict) else None
        parts.append(label)
    return ".".join(parts) or "(top level)"


def _message(error: dict) -> str:
    """A pydantic error's message, reworded: bounds in full, typos with a suggestion."""
    kind, ctx, loc = error["type"], error.get("ctx") or {}, error["loc"]
    got = _shown_input(error.get("input"))
    if kind == "missing":
        return "missing (required)"
    if kind == "extra_forbidden":
        owner = _owner(loc)
        known = list(owner.model_fields) if owner else []
        close = difflib.get_close_matches(str(loc[-1]), known, n=1)
        hint = f"did you mean '{close[0]}'?" if close else f"known keys: {', '.join(known)}"
        return f"unknown key ({hint})" if known else "unknown key"
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        low, high = _bounds(loc)
        if low is not None and high is not None:
            return f"must be between {low} and {high}{got}"
    if kind == "string_pattern_mismatch" and loc == ("review", "name"):
        return f"must be lower-case letters, digits and hyphens, e.g. 'my-review'{got}"
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    if kind == "too_short" and loc == ("inclusion",):
        return "needs at least one criterion in words"
    return f"{error['msg'][0].lower()}{error['msg'][1:]}{got}"


def _shown_input(value: Any) -> str:
    if isinstance(value, dict | list) or value is None:
        return ""
    text = repr(value)
    return f" (got {text})" if len(text) <= 40 else ""


def _owner(loc: tuple) -> type[BaseModel] | None:
    """The model class that holds the last key of `loc` (None if the path leaves the schema)."""
    model: type[BaseModel] | None = Protocol
    parts = [part for part in loc[:-1] if not isinstance(part, int)]
    while parts and model is not None:
        info = model.model_fields.get(parts.pop(0))
        if info is None:
            return None
        model, keyed = _nested_model(info.annotation)
        if keyed and parts:  # a table of named entries: skip the entry's name
            parts.pop(0)
    return model


def _nested_model(annotation: Any) -> tuple[type[BaseModel] | None, bool]:
    """The model inside an annotation (list[X], X | None, dict[str, X]); True for dicts."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, False
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is dict and len(args) == 2:
        return _nested_model(args[1])[0], True
    if origin in (list, typing.Union, types.UnionType):
        for arg in args:
            model, keyed = _nested_model(arg)
            if model is not None:
                return model, keyed
    return None, False


def _bounds(loc: tuple) -> tuple[Any, Any]:
    """The (ge, le) bounds declared on the field at `loc`, where both are declared."""
    owner = _owner(loc)
    info = owner.model_fields.get(str(loc[-1])) if owner else None
    low = high = None
    for item in info.metadata if info else []:
        low = getattr(item, "ge", low)
        high = getattr(item, "le", high)
    return low, high


def _toml_error(path: Path, exc: tomllib.TOMLDecodeError) -> ConfigError:
    """`FILE, line L, column C: not valid TOML: reason` from tomllib's message."""
    text = str(exc)
    found = re.search(r"\s*\(at line (\d+), column (\d+)\)$", text)
    if found is None:
        return ConfigError(f"{path}: not valid TOML ({text})")
    reason = text[: found.start()]
    line, column = found.groups()
    return ConfigError(f"{path}, line {line}, column {column}: not valid TOML: {reason}")


def load_protocol(path: str | Path | None = None) -> Protocol:
    """Read and validate a protocol TOML file (the default review when `path` is None).

    A TOML syntax error names the file, line and column; a file that parses but breaks
    the schema raises one `ProtocolError` listing every problem.
    """
    path = Path(path) if path is not None else DEFAULT_CONFIG
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise _toml_error(path, exc) from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a UTF-8 text file") from None
    try:
        return Protocol.model_validate(data)
    except ValidationError as exc:
        raise ProtocolError(path, validation_problems(exc, data)) from None
