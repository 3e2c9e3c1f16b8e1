"""`tag --engine spark`: Spark in local mode gives the tags the in-process path gives.

One local[2] session for the module; the Spark tests skip (with the reason) where pyspark or
Java is missing. The checks of options and messages run everywhere.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from peerscreen.batch.spark import _columns, _format_of, tag_with_spark
from peerscreen.batch.spark_session import MissingSparkError, SparkError, spark_session
from peerscreen.cli import app
from peerscreen.errors import InputError, OutputError
from peerscreen.io.readers import read_file
from peerscreen.paths import DEFAULT_CORPUS
from peerscreen.review.ranking import tag_records
from peerscreen.tracking import save_pyfunc

runner = CliRunner()
HAS_PYSPARK = importlib.util.find_spec("pyspark") is not None
HAS_JAVA = shutil.which("java") is not None or bool(os.environ.get("JAVA_HOME"))
needs_spark = pytest.mark.skipif(
    not (HAS_PYSPARK and HAS_JAVA),
    reason="needs pyspark (pip install 'peerscreen[spark]') and Java 17+",
)
TAGS = (
    "category",
    "outcomes",
    "outcome_scores",
    "exclusion_reason",
    "exclusion_flags",
    "design",
    "evidence",
)
N_RECORDS = 2000


def generated_records(n: int, seed: int = 0) -> pd.DataFrame:
    """`n` new records from the corpus: one record's title with the first half of one abstract
    and the second half of another; about 10% without a year, 5% without an abstract."""
    corpus = pd.read_json(DEFAULT_CORPUS, lines=True)
    rng = np.random.default_rng(seed)
    i, j = rng.integers(0, len(corpus), n), rng.integers(0, len(corpus), n)
    sentences = [str(a or "").split(". ") for a in corpus["abstract"]]
    abstracts = [
        ". ".join(
            sentences[a][: max(1, len(sentences[a]) // 2)] + sentences[b][len(sentences[b]) // 2 :]
        )
        for a, b in zip(i, j, strict=True)
    ]
    years = corpus["year"].to_numpy()[i].astype(object)
    years[rng.random(n) < 0.1] = None
    frame = pd.DataFrame(
        {
            "record_id": [f"gen-{k:05d}" for k in range(n)],
            "title": corpus["title"].to_numpy()[i],
            "abstract": abstracts,
            "year": pd.array(list(years), dtype="Int64"),
        }
    )
    frame.loc[rng.random(n) < 0.05, "abstract"] = None
    return frame


@pytest.fixture(scope="module")
def model_dir(trained, tmp_path_factory):
    return save_pyfunc(trained.model, tmp_path_factory.mktemp("spark") / "model")


@pytest.fixture(scope="module")
def records_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("spark-data") / "records.parquet"
    generated_records(N_RECORDS).to_parquet(path, index=False)
    return path


@pytest.fixture(scope="module")
def spark():
    session = spark_session("local[2]", app_name="peerscreen-tests")
    yield session
    session.stop()


def in_process_tags(path: Path, model) -> pd.DataFrame:
    """What `peerscreen tag` computes in this process, one row per record_id."""
    records, _ = read_file(path)
    has_year = records.frame["year"].notna().to_numpy()
    # records with and without a year are tagged apart: model_frame cannot yet take a year
    # column that mixes both (it becomes float with NaN)
    parts = [tag_records(records.take(np.nonzero(m)[0]), model) for m in (has_year, ~has_year)]
    return pd.concat(parts).set_index("record_id")


@needs_spark
def test_spark_tags_match_in_process_tags(spark, model_dir, records_file, trained, tmp_path):
    out = tmp_path / "tagged.parquet"
    result = tag_with_spark(model_dir, records_file, out, spark=spark)
    assert result.n_records == N_RECORDS
    assert sum(result.categories.values()) == N_RECORDS
    assert result.columns == ["record_id", "title", "category", "p_category", *TAGS[1:]]
    on_spark = pd.read_parquet(out).set_index("record_id").sort_index()
    assert on_spark.index.is_unique and len(on_spark) == N_RECORDS
    local = in_process_tags(records_file, trained.model).loc[on_spark.index]
    for column in TAGS:
        assert list(on_spark[column].fillna("")) == list(local[column].fillna("")), column
    np.testing.assert_allclose(on_spark["p_category"], local["p_category"], atol=1e-9)
    assert not [p.name for p in tmp_path.iterdir() if p.name != "tagged.parquet"]


@needs_spark
def test_cli_tags_a_csv_with_other_column_names(spark, model_dir, records_file, tmp_path):
    frame = generated_records(120, seed=1).rename(
        columns={
            "record_id": "ID",
            "title": "Primary_Title",
            "abstract": "notes_abstract",
            "year": "Publication Year",
        }
    )
    source = tmp_path / "export.csv"
    frame.to_csv(source, index=False)
    out = tmp_path / "tagged"
    out.mkdir()
    (out / "stale.txt").write_text("from an earlier run")
    args = ["tag", "--engine", "spark", "--input", str(source), "-o", str(out)]
    result = runner.invoke(app, [*args, "--model", str(model_dir), "--master", "local[2]"])
    assert result.exit_code == 0, result.output
    assert "wrote 120 tagged records" in " ".join(result.stdout.split())
    tagged = pd.read_parquet(out)
    assert sorted(tagged["record_id"]) == sorted(frame["ID"])
    assert tagged["category"].notna().all()
    assert not (out / "stale.txt").exists()  # replaced, not merged


@needs_spark
def test_a_failed_job_keeps_the_previous_output(spark, model_dir, records_file, tmp_path):
    broken = tmp_path / "broken-model"
    shutil.copytree(model_dir, broken)
    (broken / "artifacts" / "review_model.joblib").write_bytes(b"not a model")
    out = tmp_path / "tagged.parquet"
    out.mkdir()
    (out / "previous.txt").write_text("kept")
    with pytest.raises(SparkError, match="failed"):
        tag_with_spark(broken, records_file, out, spark=spark)
    assert [p.name for p in out.iterdir()] == ["previous.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken-model", "tagged.parquet"]


@needs_spark
def test_missing_columns_and_paths_are_input_errors(spark, model_dir, tmp_path):
    source = tmp_path / "no_text.csv"
    source.write_text("id,author\n1,Smith\n")
    with pytest.raises(InputError, match="no title or abstract column"):
        tag_with_spark(model_dir, source, tmp_path / "out", spark=spark)
    with pytest.raises(InputError, match="no such file"):
        tag_with_spark(model_dir, tmp_path / "missing.parquet", tmp_path / "out", spark=spark)
    assert not (tmp_path / "out").exists()


def test_missing_pyspark_says_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "pyspark", None)
    with pytest.raises(MissingSparkError, match=r"pip install 'peerscreen\[spark\]'"):
        spark_session("local[1]")
    result = runner.invoke(
        app, ["tag", "--engine", "spark", "--input", "x.parquet", "-o", str(tmp_path / "out")]
    )
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "peerscreen[spark]" in lines[0]


@pytest.mark.skipif(not HAS_PYSPARK, reason="needs pyspark")
def test_missing_java_is_one_clear_error(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.delenv("JAVA_HOME", raising=False)
    with pytest.raises(SparkError, match="Java"):
        spark_session("local[1]")


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["a.ris", "b.ris", "--engine", "spark"], "one dataset"),
        (["a.ris", "--input", "b.parquet", "--engine", "spark"], "not both"),
        (["--engine", "spark"], "--input"),
        (["a.ris", "--master", "local[2]"], "--engine spark"),
        ([], "FILES"),
    ],
)
def test_wrong_option_combinations_are_usage_errors(args, needle, tmp_path):
    result = runner.invoke(app, ["tag", *args, "-o", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert needle in " ".join(result.output.split())


def test_spark_output_is_a_parquet_folder(tmp_path):
    with pytest.raises(OutputError, match="Parquet folder"):
        tag_with_spark("models/default", "x.parquet", tmp_path / "tagged.csv")


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("records.parquet", "parquet"),
        ("export.CSV", "csv"),
        ("export.tsv", "tsv"),
        ("records.jsonl", "jsonl"),
        ("s3a://bucket/records.json", "json"),
        ("hdfs:///reviews/records", "parquet"),
    ],
)
def test_format_from_the_extension(path, expected):
    assert _format_of(path, None) == expected


def test_format_of_a_folder_and_unknown_extensions(tmp_path):
    (tmp_path / "part-0.jsonl").write_text("{}\n")
    assert _format_of(str(tmp_path), None) == "jsonl"
    assert _format_of("records.txt", "csv") == "csv"
    with pytest.raises(InputError, match="--format"):
        _format_of("records.txt", None)


def test_columns_found_under_the_csv_readers_names():
    frame = SimpleNamespace(columns=["\ufeffID", "Article Title", "AB", "PY", "Language", "MH"])
    assert _columns(frame) == {
        "record_id": "\ufeffID",
        "title": "Article Title",
        "abstract": "AB",
        "year": "PY",
        "language": "Language",
        "mesh": "MH",
    }
