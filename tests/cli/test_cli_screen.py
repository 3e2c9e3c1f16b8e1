"""`peerscreen screen`: init, the interactive `next`, label, status, export; one-line errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from peerscreen.cli import _keys, app
from peerscreen.cli.screen import highlighted, record_details
from peerscreen.review.criteria import Flag
from peerscreen.screening import ScreeningRecord, open_project
from tests.screening.test_project import write_records

runner = CliRunner()


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("cli-template")
    source = write_records(folder / "records.csv", 6, 6)
    result = runner.invoke(app, ["screen", "init", str(folder / "t.screen"), str(source)])
    assert result.exit_code == 0, result.output
    assert "created" in result.stdout and "12 records" in result.stdout
    return folder / "t.screen"


@pytest.fixture
def project(template: Path, tmp_path: Path) -> Path:
    target = tmp_path / "review.screen"
    shutil.copy(template, target)
    return target


def screen(*args: str, input: str | None = None):
    return runner.invoke(app, ["screen", *map(str, args)], input=input)


def assert_one_line_error(result, *needles: str) -> None:
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error:")
    for needle in needles:
        assert needle in lines[0]


def labels(path: Path) -> dict[str, tuple[str, str | None, str | None]]:
    with open_project(path) as opened:
        state = opened.label_state()
        return {opened.record_ids[p]: (d.action, d.reason, d.note) for p, d in state.latest.items()}


@pytest.mark.parametrize("command", ["init", "next", "label", "status", "export"])
def test_help(command):
    result = runner.invoke(app, ["screen", command, "--help"])
    assert result.exit_code == 0 and "Usage" in result.stdout


# -- init -----------------------------------------------------------------------------------
def test_init_refuses_an_existing_project_unless_forced(project, tmp_path):
    source = write_records(tmp_path / "r.csv", 2, 2)
    assert_one_line_error(screen("init", project, source), "already exists", "--force")
    result = screen("init", project, source, "--force", "--query", "uncertainty")
    assert result.exit_code == 0, result.output
    with open_project(project) as opened:
        assert opened.n_records == 4 and opened.query == "uncertainty"
        assert opened.criteria_as_inclusion  # the default
    result = screen("init", project, source, "--force", "--no-criteria-as-inclusion")
    assert result.exit_code == 0, result.output
    with open_project(project) as opened:
        assert not opened.criteria_as_inclusion


def test_init_errors(tmp_path):
    source = write_records(tmp_path / "r.csv", 2, 2)
    target = tmp_path / "p.screen"
    assert_one_line_error(screen("init", target, source, "--backend", "nope"), "unknown backend")
    assert_one_line_error(screen("init", target, tmp_path / "missing.csv"), "missing.csv")
    assert_one_line_error(screen("init", target, source, "-c", tmp_path / "x.toml"), "x.toml")
    assert not target.exists()


# -- next -----------------------------------------------------------------------------------
def test_next_include_exclude_with_code_and_note(project):
    result = screen("next", project, input="i\n\ne\nyouth_only\nteenagers only\nq\n")
    assert result.exit_code == 0, result.output
    assert "cold start" in result.stdout  # the first record, before any label
    assert "2 decisions this session" in result.stdout
    found = labels(project)
    assert sorted(a for a, _, _ in found.values()) == ["exclude", "include"]
    assert ("exclude", "youth_only", "teenagers only") in found.values()
    with open_project(project) as opened:
        assert not opened.scores_stale()  # retrained after each decision


def test_next_shows_p_include_once_both_classes_are_labelled(project):
    screen("label", project, "on0", "include")
    screen("label", project, "off0", "exclude")
    result = screen("next", project, "--no-notes", input="q\n")
    assert result.exit_code == 0, result.output
    # one of each: the model ranks, and p_include waits for two of each (issue 16)
    assert "model v" in result.stdout and "p_include: shown once 2 inclusions" in result.stdout
    screen("label", project, "on1", "include")
    screen("label", project, "off1", "exclude")
    result = screen("next", project, "--no-notes", input="q\n")
    assert "p_include 0." in result.stdout and "model v" in result.stdout


def test_next_flags_are_shown_and_codes_can_be_numbers(project):
    with open_project(project) as opened:
        codes = opened.protocol.exclusion_codes
    screen("label", project, "on0", "include")
    screen("label", project, "on1", "exclude")
    for rid in [f"on{i}" for i in range(2, 6)]:  # every on-topic record labelled: off-topic next
        screen("label", project, rid, "include", "--no-retrain")
    number = codes.index("caregivers") + 1
    result = screen("next", project, "--no-notes", input=f"e\n?\n{number}\nq\n")
    assert result.exit_code == 0, result.output
    assert "flag youth_only" in result.stdout  # evidence listed under the abstract
    assert "1:not_peer_support" in result.stdout  # '?' listed the codes
    assert ("exclude", "caregivers", None) in labels(project).values()


def test_next_shortcut_line_and_bad_keys(project):
    result = screen("next", project, "-n", "1", input="x\ne bogus\ne out_of_w too old\n")
    assert result.exit_code == 0, result.output
    assert "type i, e, s, u or q" in result.stdout
    assert "unknown exclusion code 'bogus'" in result.stderr
    assert ("exclude", "out_of_window", "too old") in labels(project).values()


def test_next_undo_shows_the_record_again(project):
    result = screen("next", project, "--no-notes", input="i\nu\nq\n")
    assert result.exit_code == 0, result.output
    assert "undid: include" in result.stdout
    shown = [line for line in result.stdout.splitlines() if " · " in line and "screened" in line]
    assert shown[0].split(" ")[0] == shown[-1].split(" ")[0]  # same record shown again
    assert labels(project) == {}
    with open_project(project) as opened:
        assert len(opened.decisions(include_undone=True)) == 1


def test_next_skip_and_count(project):
    result = screen("next", project, "-n", "2", input="s\ni\n\n")
    assert result.exit_code == 0, result.output
    assert sorted(a for a, _, _ in labels(project).values()) == ["include", "skip"]
    # a skip is not a screening: still to screen (issue 16)
    assert "1 of 12 screened" in result.stdout and "11 still to screen, 1 of them skipped" in (
        " ".join(result.stdout.split())
    )


def test_next_end_of_input_keeps_decisions(project):
    result = screen("next", project, input="i\n\n")  # no quit: input just ends
    assert result.exit_code == 0, result.output
    assert "every confirmed decision is saved" in result.stdout
    assert len(labels(project)) == 1


def test_next_says_when_everything_is_screened(project, tmp_path):
    source = write_records(tmp_path / "r.csv", 1, 1)
    screen("init", project, source, "--force")
    result = screen("next", project, "--no-notes", input="i\ne\n\n")
    assert result.exit_code == 0, result.output
    assert "every record has been screened" in result.stdout


def test_highlighted_marks_the_evidence():
    record = ScreeningRecord(
        0,
        "r1",
        "Forum for adolescents",
        "Teenagers online.",
        None,
        None,
        {},
        [Flag("youth_only", "adolescents", 10, 21, 0.9, "title")],
    )
    text = highlighted(record)
    assert text.plain == "Forum for adolescents\n\nTeenagers online."
    red = [(s.start, s.end) for s in text.spans if s.style == "bold red"]
    assert red == [(10, 21)]


# -- label, status, export ------------------------------------------------------------------
def test_label_and_its_errors(project):
    result = screen("label", project, "off1", "exclude", "--reason", "youth_only", "--note", "kids")
    assert result.exit_code == 0, result.output
    assert "saved: exclude (youth_only) off1" in result.stdout
    assert labels(project)["off1"] == ("exclude", "youth_only", "kids")
    assert_one_line_error(screen("label", project, "nope", "include"), "unknown record id 'nope'")
    assert_one_line_error(
        screen("label", project, "off2", "exclude", "-r", "teens"), "unknown exclusion code"
    )
    assert_one_line_error(screen("label", project, "off2", "maybe"), "include or exclude")
    assert len(labels(project)) == 1


@pytest.mark.parametrize("command", [["status"], ["next"], ["export", "-o", "x.csv"]])
def test_missing_or_foreign_project(tmp_path, command):
    missing = tmp_path / "none.screen"
    result = screen(command[0], missing, *command[1:])
    assert_one_line_error(result, "no such screening project")
    foreign = write_records(tmp_path / "r.csv", 1, 1)
    result = screen(command[0], foreign, *command[1:])
    assert_one_line_error(result, "not a peerscreen screening project")


def test_status_reports_counts_model_and_stopping(project):
    screen("label", project, "on0", "include")
    screen("label", project, "off0", "exclude", "--no-retrain")
    result = screen("status", project)
    assert result.exit_code == 0, result.output
    for needle in ("records", "to screen", "12", "buscar", "knee", "consecutive-exclusions"):
        assert needle in result.stdout
    assert "stale" in result.stdout  # the last label did not retrain
    assert "model v1" in result.stdout
    assert "trains on the criteria text too" in " ".join(result.stdout.split())


def test_export_writes_every_record(project, tmp_path):
    screen("label", project, "on0", "include", "--note", "yes")
    out = tmp_path / "decisions.csv"
    result = screen("export", project, "-o", out)
    assert result.exit_code == 0, result.output
    assert "wrote 12 records (1 labelled)" in result.stdout
    header = out.read_text().splitlines()[0].split(",")
    assert header[:7] == [
        "record_id",
        "title",
        "abstract",
        "included",
        "exclusion_reason",
        "note",
        "decided_at",
    ]
    assert_one_line_error(screen("export", project, "-o", tmp_path / "x.doc"), "x.doc")


# -- next: the reason prompt, record details, Ctrl-C (issue 16, item 8) ---------------------
def only_off_topic_left(path: Path) -> None:
    """Label every on-topic record, so `screen next` shows a flagged off-topic one next."""
    with open_project(path) as opened:
        for i in range(6):
            opened.decide(f"on{i}", "include")


def test_next_offers_the_flagged_code_and_q_or_u_back_out(project):
    only_off_topic_left(project)
    result = screen("next", project, "--no-notes", input="e\nq\ne\nu\ne\n\ne\n-\nq\n")
    assert result.exit_code == 0, result.output
    assert "exclusion code or number [not_mental_health]" in result.stdout  # strongest flag
    assert result.stdout.count("back: nothing decided for this record") == 2
    assert "unknown exclusion code" not in result.stderr  # q and u were not taken as codes
    off = sorted((v for k, v in labels(project).items() if k.startswith("off")), key=str)
    assert off == [("exclude", "not_mental_health", None), ("exclude", None, None)]
    assert "2 decisions this session" in result.stdout


def test_next_ambiguous_prefix_lists_the_matches_and_asks_again(project):
    only_off_topic_left(project)
    result = screen("next", project, "-n", "2", input="e\no\nout\n\ne not_ teens\ne care kin\n")
    assert result.exit_code == 0, result.output
    assert "'o' could be 5:online_or_phone_only  12:operations_or_instrument  15:out_of_window" in (
        result.stderr
    )
    assert "'not_' could be 1:not_peer_support  2:not_mental_health  14:not_original" in (
        result.stderr
    )
    off = sorted((v for k, v in labels(project).items() if k.startswith("off")), key=str)
    assert off == [("exclude", "caregivers", "kin"), ("exclude", "out_of_window", None)]


def test_next_shows_authors_year_journal_and_doi(project):
    result = screen("next", project, input="q\n")
    assert result.exit_code == 0, result.output
    assert "Ray, A. · 2005 · doi:10.5555/on." in result.stdout
    assert "\x1b[2J" not in result.stdout  # output is not a terminal: never cleared


def test_record_details_leaves_out_what_is_missing():
    fields = {"authors": ["A", "B", "C", "D"], "journal": "BMJ", "doi": "10.1/x"}
    record = ScreeningRecord(0, "r1", "T", None, 2020, None, fields, [])
    assert record_details(record) == "A; B; C et al. · 2020 · BMJ · doi:10.1/x"
    bare = ScreeningRecord(1, "r2", "T", None, None, None, {"authors": [], "journal": None}, [])
    assert record_details(bare) == ""
    one = ScreeningRecord(2, "r3", "T", None, 1999, None, {"authors": "Solo, H."}, [])
    assert record_details(one) == "Solo, H. · 1999"


def test_next_ctrl_c_exits_130_in_one_line_keeping_confirmed_decisions(project, monkeypatch):
    answers = iter(["i", ""])  # include the first record, no note; then Ctrl-C

    def typed(prompt: str, immediate: str = "") -> str:
        try:
            return next(answers)
        except StopIteration:
            raise KeyboardInterrupt from None

    monkeypatch.setattr(_keys, "read_text", typed)
    result = screen("next", project)
    assert result.exit_code == 130, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == ["interrupted: every confirmed decision is saved"]
    assert "Traceback" not in result.output
    assert [a for a, _, _ in labels(project).values()] == ["include"]


# -- issue 16: p_include in words, stopping in a reviewer's words -----------------------------
def test_next_says_what_p_include_means(project):
    for record_id, decision in (("on0", "include"), ("off0", "exclude"), ("on1", "include")):
        screen("label", project, record_id, decision, "--no-retrain")
    screen("label", project, "off1", "exclude")
    result = screen("next", project, "--no-notes", input="q\n")
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    assert "of the records screened so far that scored like this were included" in text
    assert "in 10 " in text or "in 100 " in text or "under 1 in 100" in text


def test_status_gives_recall_what_is_left_reasons_and_rules_in_words(project):
    screen("label", project, "on0", "include", "--no-retrain")
    screen("label", project, "off0", "exclude", "--reason", "youth_only", "--no-retrain")
    screen("label", project, "off1", "exclude", "--no-retrain")
    with open_project(project) as opened:
        opened.decide("off2", "skip")
    result = runner.invoke(app, ["screen", "status", str(project)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Recall so far: about " in out and "at 95% confidence" in out
    assert "inclusions probably left" in out or "inclusion probably left" in out
    # 3 screened of 12; the skipped record is still to screen
    assert "among the 9 records not yet screened" in out
    assert "Excluded, by reason" in out and "youth_only" in out and "(no reason given)" in out
    assert "no exclusion yet for: " in out
    assert "stopping rule knee: not yet: judges the gain curve from 150 records" in out
    assert "keep screening" not in out  # the old bare verdicts
