"""`screen next` shows each flag's whole sentence (underlined) around its red evidence."""

from __future__ import annotations

from peerscreen.cli.screen import highlighted
from peerscreen.review.criteria import CriteriaFlagger
from peerscreen.review.protocol import load_protocol
from peerscreen.screening import ScreeningRecord


def test_highlighted_underlines_the_flags_sentence():
    title = "Mutual help groups"
    abstract = "Groups met weekly. Forty adolescents aged 13-17 attended. Most stayed a year."
    flags = CriteriaFlagger(load_protocol()).flag(title, abstract).exclusions
    record = ScreeningRecord(0, "r1", title, abstract, None, None, {}, flags)
    text = highlighted(record)
    underlined = [text.plain[s.start : s.end] for s in text.spans if s.style == "underline"]
    red = [text.plain[s.start : s.end] for s in text.spans if s.style == "bold red"]
    assert underlined == ["Forty adolescents aged 13-17 attended."]
    assert red == ["adolescents"]
