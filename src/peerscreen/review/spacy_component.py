"""The criteria rules as a spaCy pipeline component, `peerscreen_criteria`.

Registered with spaCy through the `spacy_factories` entry point (pyproject.toml), so
`nlp.add_pipe("peerscreen_criteria")` works in any pipeline without importing peerscreen
first, and importing `peerscreen.review.criteria` does not have to load spaCy.
"""

from __future__ import annotations

import spacy
from spacy.tokens import Doc

from peerscreen.review.criteria import CriteriaFlagger

if not Doc.has_extension("criteria"):
    Doc.set_extension("criteria", default=None)


@spacy.Language.factory("peerscreen_criteria", default_config={"config_path": None})
def make_criteria_component(
    nlp: spacy.Language, name: str, config_path: str | None
) -> CriteriaComponent:
    """`nlp.add_pipe("peerscreen_criteria", config={"config_path": "configs/review.toml"})`:
    sets `doc._.criteria` to a `CriteriaResult` for any spaCy pipeline (it needs sentence
    boundaries: add a "sentencizer" before it). Set `doc.user_data["title_chars"]` to mark
    the title, and `doc.user_data["year"]`/`["language"]` for the window check."""
    from peerscreen.review.protocol import load_protocol

    return CriteriaComponent(CriteriaFlagger(load_protocol(config_path)))


class CriteriaComponent:
    def __init__(self, flagger: CriteriaFlagger):
        self.flagger = flagger

    def __call__(self, doc: Doc) -> Doc:
        # the matchers are bound to the flagger's own vocab: re-tokenise there when needed
        same = self.flagger.nlp.vocab is doc.vocab and doc.has_annotation("SENT_START")
        doc_for_rules = doc if same else self.flagger.nlp(doc.text)
        data = doc.user_data
        doc._.criteria = self.flagger._result(
            doc_for_rules, int(data.get("title_chars", 0)), data.get("year"), data.get("language")
        )
        return doc
