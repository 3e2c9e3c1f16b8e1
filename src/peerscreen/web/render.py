"""Turning records and figures into what the pages show: record text with the criteria
evidence marked (escaped first: record text is untrusted), the decision band, and the
recall curve as inline SVG (no script library)."""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup, escape

from peerscreen.review.criteria import Flag, record_text
from peerscreen.screening.labels import LabelState
from peerscreen.screening.store import ScreeningRecord

#: p_include at or above which a record is in the `include` band; below `CHECK`: `exclude`.
INCLUDE_BAND = 0.5
CHECK_BAND = 0.1


@dataclass(frozen=True)
class Marked:
    """The title and abstract as HTML with every evidence span in <mark>."""

    title: Markup
    abstract: Markup


def _marked(text: str, spans: list[tuple[int, int, str]]) -> Markup:
    """`text` escaped, with each (start, end, code) span wrapped in <mark> (overlapping
    spans merge)."""
    spans = sorted((max(0, s), min(len(text), e), c) for s, e, c in spans if e > s)
    merged: list[list] = []
    for start, end, code in spans:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
            merged[-1][2].add(code)
        elif start < len(text):
            merged.append([start, end, {code}])
    out, at = [], 0
    for start, end, codes in merged:
        out.append(escape(text[at:start]))
        label = escape(", ".join(sorted(codes)))
        out.append(Markup('<mark title="{}">{}</mark>').format(label, text[start:end]))
        at = end
    out.append(escape(text[at:]))
    return Markup("").join(out)


def marked_record(record: ScreeningRecord) -> Marked:
    """Title and abstract with the flags' evidence marked. Flag offsets index
    `record_text(title, abstract)`: title, separator, abstract."""
    title, abstract = record.title or "", record.abstract or ""
    offset = len(record_text(title, ""))
    title_spans, abstract_spans = [], []
    for flag in record.flags:
        if flag.end <= flag.start:
            continue
        if flag.start < len(title):
            title_spans.append((flag.start, flag.end, flag.code))
        elif flag.start >= offset:
            abstract_spans.append((flag.start - offset, flag.end - offset, flag.code))
    return Marked(_marked(title, title_spans), _marked(abstract, abstract_spans))


def band(p_include: float | None) -> str | None:
    """The decision band of a calibrated p_include (None before there is one)."""
    if p_include is None:
        return None
    if p_include >= INCLUDE_BAND:
        return "include"
    return "check" if p_include >= CHECK_BAND else "exclude"


def flag_rows(flags: list[Flag]) -> list[dict]:
    """The criteria panel's list of flags: code, evidence, its sentence, confidence."""
    return [
        {
            "code": f.code,
            "evidence": f.evidence,
            "sentence": f.context,
            "confidence": f.confidence,
            "where": f.where,
            # what the sentence does (background, method, result, ...; '' if not known)
            "role": getattr(f, "role", ""),
        }
        for f in sorted(flags, key=lambda f: -f.confidence)
    ]


def tags_of(record: ScreeningRecord) -> dict[str, list[str]]:
    """Category and outcome tags the imported record carries (from `peerscreen tag`
    output or the input's own columns), if any."""
    tags: dict[str, list[str]] = {}
    for key in ("category", "predicted_category"):
        value = record.fields.get(key)
        if value:
            tags["category"] = [str(value)]
            break
    for key in ("outcomes", "predicted_outcomes"):
        value = record.fields.get(key)
        if value:
            values = value if isinstance(value, list) else str(value).replace(";", ",").split(",")
            tags["outcomes"] = [v.strip() for v in values if str(v).strip()]
            break
    return tags


def recall_curve_svg(state: LabelState, width: int = 560, height: int = 220) -> Markup:
    """Inclusions found against records screened, in screening order, as inline SVG."""
    found, points = 0, [(0, 0)]
    for position in state.order:
        found += state.status[position] == "include"
        points.append((len(points), found))
    n, top = max(len(points) - 1, 1), max(found, 1)
    pad = 36

    def xy(x: int, y: int) -> str:
        return (
            f"{pad + (width - pad - 10) * x / n:.1f},"
            f"{height - pad - (height - pad - 10) * y / top:.1f}"
        )

    line = " ".join(xy(x, y) for x, y in points)
    return Markup(
        '<svg class="curve" viewBox="0 0 {w} {h}" role="img" '
        'aria-label="inclusions found against records screened">'
        '<line x1="{p}" y1="{b}" x2="{r}" y2="{b}" class="axis"/>'
        '<line x1="{p}" y1="10" x2="{p}" y2="{b}" class="axis"/>'
        '<polyline points="{line}" class="found"/>'
        '<text x="{p}" y="{lb}" class="label">0</text>'
        '<text x="{r}" y="{lb}" class="label" text-anchor="end">{n} screened</text>'
        '<text x="4" y="18" class="label">{top}</text>'
        '<text x="4" y="34" class="label">incl.</text>'
        "</svg>"
    ).format(
        w=width,
        h=height,
        p=pad,
        b=height - pad,
        r=width - 10,
        line=line,
        lb=height - pad + 16,
        n=n if points[1:] else 0,
        top=found,
    )
