"""Tag and rank in chunks: the same records and outputs as reading and scoring at once,
with workers, after a crash, and after --resume."""

from __future__ import annotations

import filecmp
import json
import os

import joblib
import pandas as pd
import pytest
from typer.testing import CliRunner

from peerscreen.batch import scoring
from peerscreen.batch.scoring import ScoringSpec
from peerscreen.batch.sidecar import ResumeError, Sidecar
from peerscreen.batch.sources import BatchOptions
from peerscreen.batch.streaming import rank_files, tag_files
from peerscreen.cli import app
from peerscreen.errors import InputError
from peerscreen.io.dedup import KeyIndex
from peerscreen.io.readers import chunked, read_file
from peerscreen.io.readers.chunked import iter_chunks, scan_columns
from peerscreen.io.writers import write_records
from tests.conftest import FIXTURES, ROOT

runner = CliRunner()
EXPECTED = json.loads((FIXTURES / "expected.json").read_text(encoding="utf-8"))
GOOD = sorted(k for k in EXPECTED if not k.startswith("_"))
BAD = EXPECTED["_bad_inputs"]
NEW_RECORDS = ROOT / "data" / "examples" / "new_records.csv"


def _chunked_frame(path, size=2):
    """The chunks of `path` put back together (columns as `scan_columns` says)."""
    chunks = list(iter_chunks(path, size=size))
    columns = scan_columns(path) or list(chunks[0].frame.columns)
    frames = []
    for chunk in chunks:
        frame = chunk.frame
        for name in columns:
            if name not in frame:
                frame[name] = pd.Series([None] * len(frame), dtype=object)
        frames.append(frame[columns])
    return pd.concat(frames, ignore_index=True), len(chunks)


def _assert_same_records(got: pd.DataFrame, want: pd.DataFrame) -> None:
    assert list(got.columns) == list(want.columns)
    assert list(got.dtypes) == list(want.dtypes)
    for name in want.columns:
        assert got[name].tolist() == want[name].tolist() or (
            got[name].isna().tolist() == want[name].isna().tolist()
            and got[name].dropna().tolist() == want[name].dropna().tolist()
        ), name


# -- chunked readers ------------------------------------------------------------------------
@pytest.mark.parametrize("name", GOOD)
def test_chunks_put_together_equal_read_file(name):
    whole, _ = read_file(FIXTURES / name)
    got, n_chunks = _chunked_frame(FIXTURES / name)
    assert n_chunks == (len(whole) + 1) // 2
    _assert_same_records(got, whole.frame)


def test_parquet_and_larger_files_in_many_blocks(tmp_path, monkeypatch):
    """Small read blocks, so CSV, JSON Lines and RIS are read in many pieces too."""
    monkeypatch.setattr(chunked, "_BLOCK", 4096)
    records, _ = read_file(ROOT / "data" / "corpus" / "peer_support.jsonl")
    for suffix in (".csv", ".jsonl", ".ris", ".parquet", ".xml"):
        if suffix == ".xml":
            path = FIXTURES / "pubmed.xml"
        else:
            path = write_records(records, tmp_path / f"corpus{suffix}")
        whole, _ = read_file(path)
        got, _ = _chunked_frame(path, size=37)
        _assert_same_records(got, whole.frame)


def test_a_header_only_csv_gives_no_chunks():
    assert list(iter_chunks(FIXTURES / "empty.csv")) == []


def test_repeated_ids_are_renamed_across_chunks(tmp_path):
    lines = [{"record_id": "x", "title": f"Title {i}"} for i in range(5)]
    path = tmp_path / "repeats.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    got, _ = _chunked_frame(path, size=2)
    assert got["record_id"].tolist() == ["x", "x~2", "x~3", "x~4", "x~5"]
    assert got["record_id"].tolist() == read_file(path)[0].frame["record_id"].tolist()


@pytest.mark.parametrize("name", sorted(k for k, v in BAD.items() if v["expect"] == "error"))
def test_bad_inputs_fail_as_read_file_does(name):
    with pytest.raises(InputError) as whole:
        read_file(FIXTURES / name)
    with pytest.raises(InputError) as streamed:
        list(iter_chunks(FIXTURES / name, size=2))
    assert str(streamed.value) == str(whole.value)


# -- scoring in chunks ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def model_file(trained, tmp_path_factory):
    """The small trained model on disk, for worker processes to load."""
    path = tmp_path_factory.mktemp("model") / "model.joblib"
    joblib.dump(trained.model, path)
    return path


def _run(task, source, output, model_file, trained, **options):
    rank = task == "rank"
    spec = ScoringSpec(str(model_file), with_inclusion=rank, target_recall=0.95 if rank else None)
    run = rank_files if rank else tag_files
    model = trained.model if options.get("workers", 1) == 1 else None
    return run([source], output, spec, BatchOptions(**options), model=model)


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet", ".ris"])
@pytest.mark.parametrize("task", ["tag", "rank"])
def test_streamed_output_equals_scoring_at_once(trained, model_file, tmp_path, task, suffix):
    at_once, streamed = tmp_path / f"once{suffix}", tmp_path / f"streamed{suffix}"
    a = _run(task, NEW_RECORDS, at_once, model_file, trained, stream=False)
    b = _run(task, NEW_RECORDS, streamed, model_file, trained, stream=True, chunk_size=7)
    if suffix == ".parquet":
        pd.testing.assert_frame_equal(pd.read_parquet(at_once), pd.read_parquet(streamed))
    else:
        assert filecmp.cmp(at_once, streamed, shallow=False)
    assert (a.n_records, a.categories, a.summary) == (b.n_records, b.categories, b.summary)
    assert not list(tmp_path.glob(".*"))  # no temporary files or unfinished runs left


def test_streamed_xlsx_holds_the_same_rows_as_scoring_at_once(trained, model_file, tmp_path):
    from openpyxl import load_workbook

    at_once, streamed = tmp_path / "once.xlsx", tmp_path / "streamed.xlsx"
    _run("rank", NEW_RECORDS, at_once, model_file, trained, stream=False)
    _run("rank", NEW_RECORDS, streamed, model_file, trained, stream=True, chunk_size=7)
    pd.testing.assert_frame_equal(pd.read_excel(at_once), pd.read_excel(streamed))
    sheet = load_workbook(streamed).active
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref.endswith(str(sheet.max_row))
    assert sheet.max_row == len(pd.read_excel(at_once)) + 1


def test_chunked_scoring_equals_rank_records(trained, tmp_path):
    from peerscreen.review.ranking import rank_records

    records, _ = read_file(NEW_RECORDS)
    table, summary = rank_records(records, trained.model)
    write_records(table, tmp_path / "once.csv")
    result = _run("rank", NEW_RECORDS, tmp_path / "chunks.csv", "unused", trained, chunk_size=8)
    assert filecmp.cmp(tmp_path / "once.csv", tmp_path / "chunks.csv", shallow=False)
    assert result.summary == summary
    pd.testing.assert_frame_equal(result.head.reset_index(drop=True), table.head(15))


def test_records_without_title_year_or_language_are_scored(trained, tmp_path):
    result = _run("tag", FIXTURES / "records.csv", tmp_path / "out.csv", "unused", trained)
    assert result.n_records == 5 and len(pd.read_csv(tmp_path / "out.csv")) == 5


def test_rank_without_output_keeps_only_the_top(trained):
    from peerscreen.review.ranking import rank_records

    records, _ = read_file(NEW_RECORDS)
    table, summary = rank_records(records, trained.model)
    spec = ScoringSpec("unused", with_inclusion=True, target_recall=0.95)
    result = rank_files(
        [NEW_RECORDS], None, spec, BatchOptions(chunk_size=9), top=5, model=trained.model
    )
    assert result.summary == summary
    pd.testing.assert_frame_equal(result.head, table.head(5))


@pytest.mark.slow
def test_two_workers_give_the_same_output_as_one(trained, model_file, tmp_path):
    one = _run("tag", NEW_RECORDS, tmp_path / "one.jsonl", model_file, trained, chunk_size=20)
    two = _run(
        "tag", NEW_RECORDS, tmp_path / "two.jsonl", model_file, trained, chunk_size=20, workers=2
    )
    assert filecmp.cmp(tmp_path / "one.jsonl", tmp_path / "two.jsonl", shallow=False)
    assert one.categories == two.categories


def test_streamed_dedup_drops_repeats_of_kept_records(trained, tmp_path):
    rows = [
        {"title": "Peer specialists on inpatient units: a controlled study", "doi": "10.5555/a"},
        {"title": "Something else entirely, with another title", "doi": "10.5555/A"},  # same DOI
        {"title": "Peer specialists on inpatient units: a controlled study"},  # same title
        {"title": "Peer specialists on inpatient units: a controlled study", "doi": "10.5555/b"},
    ]
    path = tmp_path / "dups.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    result = _run("tag", path, tmp_path / "out.csv", "unused", trained, stream=True, chunk_size=1)
    out = pd.read_csv(tmp_path / "out.csv")
    assert out["record_id"].tolist() == ["dups-1", "dups-4"]  # a different DOI is kept
    assert result.dropped_duplicates == 2


def test_streamed_files_get_every_column_and_unique_ids(trained, tmp_path):
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    first.write_text(json.dumps({"record_id": "r1", "title": "One", "source_db": "x"}) + "\n")
    second.write_text(
        "\n".join(
            json.dumps({"record_id": rid, "title": f"Title {rid}", "note": "n"})
            for rid in ("r1", "r2")
        )
        + "\n"
    )
    spec = ScoringSpec("unused")
    options = BatchOptions(stream=True, chunk_size=1)
    tag_files([first, second], tmp_path / "out.jsonl", spec, options, model=trained.model)
    out = pd.read_json(tmp_path / "out.jsonl", lines=True)
    assert out["record_id"].tolist() == ["r1", "b:r1", "r2"]  # a repeat from a later file
    assert {"source_db", "note"} <= set(out.columns)
    assert out["note"].isna().tolist() == [True, False, False]


def test_key_index_keeps_first_values_and_finds_merged_keys():
    index = KeyIndex()
    index.MERGE = 4
    for key in range(10):
        index.add(key, (key, -key))
    index.add(3, (0, 0))  # already there: the first values stay
    assert len(index) == 10 and index.get(3) == (3, -3) and index.get(9) == (9, -9)
    assert 11 not in index and index.get(-5) is None


# -- failures and --resume -----------------------------------------------------------------
class Boom(RuntimeError):
    pass


def _fail_on_chunk(monkeypatch, number: int, error: type[BaseException] = Boom):
    real, calls = scoring.predict, []

    def predict(model, frame, spec):
        calls.append(1)
        if len(calls) == number:
            raise error("chunk failed")
        return real(model, frame, spec)

    monkeypatch.setattr(scoring, "predict", predict)
    return calls


@pytest.mark.parametrize("task", ["tag", "rank"])
def test_a_crash_leaves_no_output(trained, tmp_path, monkeypatch, task):
    _fail_on_chunk(monkeypatch, 3)
    with pytest.raises(Boom):
        _run(task, NEW_RECORDS, tmp_path / "out.csv", "unused", trained, chunk_size=10)
    assert list(tmp_path.iterdir()) == []  # no output, no temporary file, no partial folder


@pytest.mark.parametrize("task", ["tag", "rank"])
def test_resume_after_a_crash_completes_the_same_output(trained, tmp_path, monkeypatch, task):
    _run(task, NEW_RECORDS, tmp_path / "whole.csv", "unused", trained, chunk_size=10)
    out = tmp_path / "out.csv"
    with monkeypatch.context() as patch:
        _fail_on_chunk(patch, 4, KeyboardInterrupt)
        with pytest.raises(KeyboardInterrupt):
            _run(task, NEW_RECORDS, out, "unused", trained, chunk_size=10, resume=True)
    assert not out.exists()
    assert Sidecar(out).finished() == {0, 1, 2}
    calls = _fail_on_chunk(monkeypatch, 0)  # count the chunks the rerun scores
    result = _run(task, NEW_RECORDS, out, "unused", trained, chunk_size=10, resume=True)
    assert result.resumed_chunks == 3 and len(calls) == 9 - 3
    assert filecmp.cmp(tmp_path / "whole.csv", out, shallow=False)
    assert not Sidecar(out).folder.exists()


def test_resume_refuses_changed_inputs(trained, tmp_path, monkeypatch):
    source = tmp_path / "records.csv"
    source.write_bytes(NEW_RECORDS.read_bytes())
    out = tmp_path / "out.csv"
    _fail_on_chunk(monkeypatch, 2)
    with pytest.raises(Boom):
        _run("tag", source, out, "unused", trained, chunk_size=10, resume=True)
    stat = source.stat()
    os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # edited since
    with pytest.raises(ResumeError, match="inputs changed"):
        _run("tag", source, out, "unused", trained, chunk_size=10, resume=True)
    _run("tag", source, out, "unused", trained, chunk_size=10)  # without --resume: start over
    assert out.exists() and not Sidecar(out).folder.exists()


# -- the command line -------------------------------------------------------------------------
def test_cli_tag_in_chunks_prints_plain_lines(model_file, tmp_path):
    out = tmp_path / "tags.csv"
    result = runner.invoke(
        app,
        ["tag", str(NEW_RECORDS), "-m", str(model_file), "-o", str(out), "--chunk-size", "25"],
    )
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    assert text.startswith("categories: ") and text.endswith(f"wrote 90 tagged records to {out}")
    assert "records/s" not in result.stdout and "eta" not in result.stdout  # no bar in a pipe
    assert len(pd.read_csv(out)) == 90


def test_cli_ctrl_c_with_resume_says_how_to_continue(model_file, tmp_path, monkeypatch):
    out = tmp_path / "ranked.csv"
    # one worker: the failure is patched into this process (the default is one per core)
    args = ["rank", str(NEW_RECORDS), "-m", str(model_file), "-o", str(out), "--chunk-size", "30"]
    args += ["--workers", "1"]
    with monkeypatch.context() as patch:
        _fail_on_chunk(patch, 2, KeyboardInterrupt)
        result = runner.invoke(app, [*args, "--resume"])
    assert result.exit_code == 130
    assert "--resume to continue" in " ".join(result.stderr.split())
    assert not out.exists()
    result = runner.invoke(app, [*args, "--resume"])
    assert result.exit_code == 0, result.output
    assert "resumed: 1 chunks were already scored" in result.stdout
    assert len(pd.read_csv(out)) == 90


def test_workers_default_to_the_cores_but_not_beyond_the_chunks():
    from peerscreen.batch.scoring import default_workers, workers_for

    assert default_workers() >= 1
    assert workers_for(8, 90, 30) == 3
    assert workers_for(8, 10, 2000) == 1
    assert workers_for(2, None, 2000) == 2
