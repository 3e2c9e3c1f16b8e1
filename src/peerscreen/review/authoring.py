"""Writing one's own review protocol: the template, the summary a check prints, and the
one line that says which protocol a command uses.

A review team should get from nothing to a screening project in minutes: `protocol new`
writes a commented template that validates as written (`TEMPLATE`, shipped inside the
package), the reviewer edits it, and `protocol check` confirms what peerscreen understood
(`summary_lines`) and which example values are still the template's (`left_as_template`).
"""

from __future__ import annotations

import calendar
import re
import tomllib
from importlib import resources
from pathlib import Path

from peerscreen.errors import ConfigError
from peerscreen.paths import DEFAULT_CONFIG
from peerscreen.review.protocol import Protocol, Window, load_protocol

#: The template file inside the package; its `name = "my-review"` line is filled in.
TEMPLATE = "protocol_template.toml"
_TEMPLATE_NAME_LINE = 'name = "my-review"'


def template_text(name: str = "my-review") -> str:
    """The commented template protocol, with `name` as the review's short identifier."""
    text = resources.files("peerscreen.review").joinpath(TEMPLATE).read_text(encoding="utf-8")
    return text.replace(_TEMPLATE_NAME_LINE, f'name = "{review_name_for(name)}"', 1)


def review_name_for(text: str) -> str:
    """A valid `review.name` from free text or a file stem ("Statins 2024" -> "statins-2024")."""
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug or "my-review"


def write_template(path: str | Path, *, name: str | None = None, force: bool = False) -> Path:
    """Write the template to `path` (named after the file unless `name` is given).

    Never replaces an existing file unless `force`, and never a folder: a reviewer's edited
    protocol is work that cannot be regenerated.
    """
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"{path}: is a folder, not a protocol file")
    if path.exists() and not force:
        raise ConfigError(f"{path}: already exists (use --force to replace it)")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise ConfigError(f"{path}: folder {folder} does not exist")
    if path.suffix.lower() != ".toml":
        raise ConfigError(f"{path}: a protocol is a TOML file; name it with .toml")
    try:
        path.write_text(template_text(name or path.stem), encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot write ({exc.strerror})") from None
    return path


def left_as_template(protocol: Protocol) -> list[str]:
    """Keys whose value is still the template's example (title, question, criteria in
    words, cue lists): valid, but almost surely not what the reviewer means."""
    example = Protocol.model_validate(tomllib.loads(template_text()))
    keys = [
        f"review.{field}"
        for field in ("title", "question")
        if getattr(protocol.review, field) == getattr(example.review, field)
    ]
    example_texts = {c.code: c.text for c in example.inclusion}
    keys += [
        f"inclusion.{c.code}.text"
        for c in protocol.inclusion
        if example_texts.get(c.code) == c.text
    ]
    example_cues = {r.code: r.phrases for r in example.exclusion if r.phrases}
    keys += [
        f"exclusion.{r.code}.phrases"
        for r in protocol.exclusion
        if r.phrases and example_cues.get(r.code) == r.phrases
    ]
    return keys


def summary_lines(protocol: Protocol) -> list[str]:
    """What peerscreen understood from a protocol, in a few lines a reviewer can check."""
    review = protocol.review
    lines = [f"review      {review.name}: {review.title}"]
    codes = ", ".join(c.code for c in protocol.inclusion)
    lines.append(f"criteria    {_count(len(protocol.inclusion), 'inclusion criterion')}: {codes}")
    lines.append(f"exclusion   {_count(len(protocol.exclusion), 'code')} (the first listed wins)")
    width = max((len(rule.code) for rule in protocol.exclusion), default=0)
    for rule in protocol.exclusion:
        lines.append(f"  {rule.code:<{width}}  {_cues(rule)}")
    if protocol.categories:
        codes = ", ".join(protocol.category_codes)
        lines.append(f"categories  {len(protocol.categories)}: {codes}")
    else:
        lines.append("categories  none (screening only: train fits the inclusion model alone)")
    if protocol.outcomes:
        codes = ", ".join(protocol.outcome_codes)
        lines.append(f"outcomes    {_count(len(protocol.outcomes), 'domain')}: {codes}")
    else:
        lines.append("outcomes    none")
    lines.append(f"window      {describe_window(protocol.window)}")
    return lines


def describe_window(window: Window | None) -> str:
    """'January 1980 to August 2010; languages en, eng, english' (or why there is none)."""
    if window is None:
        return "none (no date or language check)"
    start = f"{calendar.month_name[window.start_month]} {window.start_year}"
    end = f"{calendar.month_name[window.end_month]} {window.end_year}"
    languages = ", ".join(window.languages) if window.languages else "any"
    return f"{start} to {end}; languages {languages}"


def _cues(rule) -> str:
    if rule.metadata:
        return "date/language window (checked on year and language)"
    text = _count(len(rule.phrases), "phrase")
    if rule.patterns:
        text += f", {_count(len(rule.patterns), 'pattern')}"
    return f"{text}, confidence {rule.confidence:g}"


def _count(n: int, noun: str) -> str:
    if n == 1:
        return f"1 {noun}"
    plural = noun[:-2] + "a" if noun.endswith("criterion") else noun + "s"
    return f"{n} {plural}"


_AUTHOR = re.compile(r"^(?P<surname>[A-Z][\w'’-]*(?: [A-Z][\w'’-]*)*?) [A-Z]{1,3}$")


def short_citation(citation: str) -> str | None:
    """'Miyamoto & Sono 2012' from a Vancouver-style citation ('Miyamoto Y, Sono T. ...
    2012;8:22-29.'); None when the citation does not read as authors then a year."""
    authors_part, dot, _ = citation.partition(". ")
    year = re.search(r"\b(19|20)\d{2}\b", citation)
    if not dot or year is None:
        return None
    names = [part.strip() for part in authors_part.split(",")]
    et_al = bool(names) and names[-1].lower().rstrip(".") == "et al"
    if et_al:
        names = names[:-1]
    matched = [_AUTHOR.match(name) for name in names]
    if not names or not all(matched):
        return None
    surnames = [m["surname"] for m in matched if m]
    who = f"{surnames[0]} et al." if et_al or len(surnames) > 2 else " & ".join(surnames)
    return f"{who} {year.group(0)}"


def protocol_origin(config: str | Path | None = None) -> str:
    """The line commands print to say which protocol they use, e.g.
    'protocol: configs/review.toml (Miyamoto & Sono 2012, default)'."""
    path = Path(config) if config is not None else DEFAULT_CONFIG
    protocol = load_protocol(path)
    label = short_citation(protocol.review.citation) or protocol.review.name
    default = ", default" if config is None else ""
    return f"protocol: {_shown(path)} ({label}{default})"


def _shown(path: Path) -> str:
    """The path relative to the working folder when it lies inside it, else as given."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
