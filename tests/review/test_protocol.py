import re
from pathlib import Path

import numpy as np
import pytest

from peerscreen.errors import ConfigError
from peerscreen.review.authoring import (
    left_as_template,
    protocol_origin,
    short_citation,
    summary_lines,
    template_text,
    write_template,
)
from peerscreen.review.protocol import ProtocolError, load_protocol
from tests.conftest import ROOT

PROTOCOL_MD = ROOT.parent / "shared" / "protocol" / "peer-support-protocol.md"


def test_default_review_has_every_protocol_code():
    protocol = load_protocol()
    assert protocol.review.name == "peer-support"
    assert protocol.exclusion_codes == [
        "not_peer_support",
        "not_mental_health",
        "substance_use",
        "youth_only",
        "online_or_phone_only",
        "same_profession",
        "caregivers",
        "criminal_justice",
        "bereavement",
        "women_only",
        "program_evaluation",
        "operations_or_instrument",
        "predictor_only",
        "not_original",
        "out_of_window",
    ]
    assert protocol.category_codes == ["peer_employees", "peer_run", "mutual_help", "none"]
    assert len(protocol.outcome_codes) == 15
    assert protocol.window.start_year == 1980 and protocol.window.end_year == 2010
    assert all(o.phrases or o.patterns for o in protocol.outcomes)
    assert protocol.negation.before and protocol.negation.after
    assert {"rct", "qualitative", "review", "editorial"} <= set(protocol.design)


@pytest.mark.skipif(not PROTOCOL_MD.exists(), reason="../shared/protocol not present")
def test_codes_match_the_shared_protocol_document():
    text = PROTOCOL_MD.read_text(encoding="utf-8")
    protocol = load_protocol()
    for code in protocol.exclusion_codes + protocol.category_codes + protocol.outcome_codes:
        assert f"`{code}`" in text, code


def test_a_second_review_is_another_config():
    protocol = load_protocol(ROOT / "configs" / "examples" / "exercise-depression.toml")
    assert protocol.review.name == "exercise-depression"
    assert protocol.category_codes != load_protocol().category_codes


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "review.toml"
    path.write_text(text)
    return path


def test_unknown_key_is_named(tmp_path):
    text = (
        (ROOT / "configs" / "review.toml").read_text().replace("[window]", "[window]\nstart_yr = 1")
    )
    with pytest.raises(ConfigError, match=r"window\.start_yr"):
        load_protocol(_write(tmp_path, text))


def test_bad_value_is_named(tmp_path):
    text = (
        (ROOT / "configs" / "review.toml")
        .read_text()
        .replace("start_year = 1980", "start_year = 'soon'")
    )
    with pytest.raises(ConfigError, match=r"window\.start_year"):
        load_protocol(_write(tmp_path, text))


def test_broken_toml_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_protocol(_write(tmp_path, "[review\nname="))
    with pytest.raises(ConfigError, match="not found"):
        load_protocol(tmp_path / "nope.toml")


def test_mesh_map_must_name_known_outcomes(tmp_path):
    text = (
        (ROOT / "configs" / "review.toml")
        .read_text()
        .replace("[mesh_to_outcome]", '[mesh_to_outcome]\n"Made Up" = "no_such_outcome"')
    )
    with pytest.raises(ConfigError, match="no_such_outcome"):
        load_protocol(_write(tmp_path, text))


def test_digest_is_stable():
    assert load_protocol().digest() == load_protocol().digest()


# -- a review of one's own: optional blocks, every problem at once, the template -------------
MINIMAL = """
[review]
name = "screen-only"
title = "Peer support for adults with mental illness"

[[inclusion]]
code = "peer"
text = "Peer support given by people with lived experience of mental illness."

[[exclusion]]
code = "youth_only"
description = "Children or adolescents only."
phrases = ["children", "adolescents"]
"""


def test_a_review_that_only_screens_needs_no_categories_outcomes_or_window(tmp_path):
    protocol = load_protocol(_write(tmp_path, MINIMAL))
    assert protocol.categories == [] and protocol.outcomes == [] and protocol.window is None
    assert protocol.screens_only
    assert "lived experience" in protocol.criteria_text()


def test_a_protocol_without_window_flags_text_and_checks_no_dates(tmp_path):
    from peerscreen.review.criteria import CriteriaFlagger

    protocol = load_protocol(_write(tmp_path, MINIMAL))
    [old, young] = CriteriaFlagger(protocol).flag_many(
        ["Peer support", "Peer support for adolescents"], ["", ""], [1901, 2020], ["de", "en"]
    )
    assert old.codes == []  # no window: a 1901 German record is not out of anything
    assert young.codes == ["youth_only"]


def test_every_problem_is_reported_at_once_each_naming_its_key(tmp_path):
    text = MINIMAL.replace('name = "screen-only"', 'name = "Screen Only"') + (
        '\n[[exclusion]]\ncode = "too_sure"\ndescription = "x"\nconfidence = 1.5\n'
        'phrases = ["x"]\n\n[[exclusion]]\ncode = "no_cues"\ndescription = "y"\n'
        "\n[negation]\nwindw = 3\n"
    )
    with pytest.raises(ProtocolError) as caught:
        load_protocol(_write(tmp_path, text))
    problems = dict(caught.value.problems)
    assert len(problems) == 4, problems
    assert problems["exclusion.too_sure.confidence"] == "must be between 0 and 1 (got 1.5)"
    assert "no phrases or patterns" in problems["exclusion.no_cues"]
    assert problems["negation.windw"] == "unknown key (did you mean 'window'?)"
    assert "lower-case" in problems["review.name"]
    lines = str(caught.value).splitlines()
    assert len(lines) == 4 and all(
        line.startswith(f"{tmp_path / 'review.toml'}: ") for line in lines
    )


def test_a_toml_syntax_error_names_file_line_and_column(tmp_path):
    path = _write(tmp_path, MINIMAL.replace("[[exclusion]]", "[[exclusion]"))
    with pytest.raises(ConfigError, match=r"review\.toml, line 10, column 12: not valid TOML"):
        load_protocol(path)


def test_a_metadata_rule_needs_a_window(tmp_path):
    text = MINIMAL + '\n[[exclusion]]\ncode = "out_of_window"\ndescription = "d"\nmetadata = true\n'
    with pytest.raises(ProtocolError) as caught:
        load_protocol(_write(tmp_path, text))
    [(key, message)] = caught.value.problems
    assert key == "window" and "out_of_window" in message
    window = "\n[window]\nstart_year = 2000\nend_year = 2020\n"
    assert load_protocol(_write(tmp_path, text + window)).window.end_year == 2020


def test_none_category_is_checked_only_when_there_are_categories(tmp_path):
    category = '\n[[categories]]\ncode = "a"\nname = "A"\ndefinition = "d"\nphrases = ["a"]\n'
    with pytest.raises(ProtocolError) as caught:
        load_protocol(_write(tmp_path, MINIMAL + category))
    assert [key for key, _ in caught.value.problems] == ["none_category"]
    fixed = 'none_category = "a"\n' + MINIMAL + category
    assert load_protocol(_write(tmp_path, fixed)).category_codes == ["a"]


def test_the_template_is_valid_as_written_and_named_after_its_file(tmp_path):
    path = write_template(tmp_path / "Statins 2024.toml")
    protocol = load_protocol(path)
    assert protocol.review.name == "statins-2024"
    assert protocol.screens_only and protocol.window is not None
    assert len(protocol.inclusion) >= 2 and all(r.phrases or r.metadata for r in protocol.exclusion)
    assert "review.title" in left_as_template(protocol)  # still the example: check says so


def test_the_templates_optional_blocks_are_valid_once_uncommented(tmp_path):
    text = template_text()
    start = text.index("# [[categories]]")
    uncommented = text[:start] + re.sub(r'(?m)^# (?=\[|\w+ = |")', "", text[start:])
    protocol = load_protocol(_write(tmp_path, uncommented))
    assert protocol.category_codes == ["sms_only", "sms_plus", "none"]
    assert protocol.outcome_codes == ["adherence", "blood_pressure"]
    assert protocol.mesh_to_outcome["Blood Pressure"] == "blood_pressure"


def test_the_template_never_replaces_a_file_unless_forced(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text("my edited protocol")
    with pytest.raises(ConfigError, match="already exists"):
        write_template(path)
    assert path.read_text() == "my edited protocol"
    write_template(path, name="Mine", force=True)
    assert load_protocol(path).review.name == "mine"


def test_summary_lists_codes_with_cue_counts_and_what_is_absent(tmp_path):
    lines = summary_lines(load_protocol(_write(tmp_path, MINIMAL)))
    text = "\n".join(lines)
    assert "1 inclusion criterion: peer" in text
    assert "youth_only  2 phrases" in text
    assert "categories  none" in text and "window      none" in text
    default = "\n".join(summary_lines(load_protocol()))
    assert "15 codes" in default and "out_of_window" in default
    assert "January 1980 to August 2010" in default


def test_protocol_origin_names_the_default_review():
    assert short_citation("Miyamoto Y, Sono T. Lessons. 2012;8:22-29.") == "Miyamoto & Sono 2012"
    assert short_citation("Ray A, Lee B, Cho C. T. 2001") == "Ray et al. 2001"
    assert short_citation("Invented example review; not a published study.") is None
    line = protocol_origin()
    assert line.startswith("protocol: ") and "review.toml" in line
    assert line.endswith("(Miyamoto & Sono 2012, default)")
    other = protocol_origin(ROOT / "configs" / "examples" / "exercise-depression.toml")
    assert other.endswith("(exercise-depression)")


def test_training_with_a_screen_only_protocol_fits_inclusion_alone(tmp_path, small_corpus):
    from peerscreen.review.training import train

    protocol = load_protocol(_write(tmp_path, MINIMAL))
    frame = small_corpus.frame
    assert frame["category"].notna().any()  # the data carries categories; the protocol has none
    included = np.nonzero(frame["included"].to_numpy() == 1)[0][:8]
    excluded = np.nonzero(frame["included"].to_numpy() == 0)[0][:12]
    records = small_corpus.take(np.sort(np.r_[included, excluded]))
    result = train(records, protocol, seed=0, n_splits=2)
    assert result.model.category_ is None and result.model.outcomes_ is None
    assert result.confusion is None and result.outcome_table is None
    assert not any(k.startswith(("category_", "outcomes_")) for k in result.metrics)
    predicted = result.model.predict(records.frame.head(3))
    assert {"p_include", "decision"} <= set(predicted) and "category" not in predicted
