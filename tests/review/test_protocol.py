from pathlib import Path

import pytest

from peerscreen.errors import ConfigError
from peerscreen.review.protocol import load_protocol
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
