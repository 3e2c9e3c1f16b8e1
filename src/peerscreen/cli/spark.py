"""`peerscreen tag --engine spark`: the options only that engine takes, checked together, then
one call to `peerscreen.batch.spark.tag_with_spark` and a summary line."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer

from peerscreen.cli._util import console, user_errors


class Engine(StrEnum):
    local = "local"
    spark = "spark"


ENGINE_OPTION = typer.Option(
    Engine.local,
    "--engine",
    help="local: stream the files through this machine (--workers processes), deduplicated. "
    "spark: the MLflow model through mlflow.pyfunc.spark_udf over one dataset (--input), "
    "no deduplication.",
)
INPUT_OPTION = typer.Option(
    None,
    "--input",
    "-i",
    help="Records to tag, instead of FILES. With --engine spark: one Parquet file or folder, "
    "CSV/TSV or JSON (Lines) dataset; a path, a glob or a URI Spark reads (hdfs://, s3a://).",
    show_default=False,
)
MASTER_OPTION = typer.Option(
    None,
    "--master",
    help="Spark master for --engine spark: local[*], local[2], spark://HOST:7077, yarn.",
    show_default="local[*]",
)


def local_tag_files(files: list[Path] | None, input_path: str | None, master: str | None):
    """The files `tag --engine local` reads: FILES, plus --input if given."""
    if master:
        raise typer.BadParameter("only --engine spark takes a master", param_hint="--master")
    paths = [*(files or []), *([Path(input_path)] if input_path else [])]
    if not paths:
        raise typer.BadParameter("give the records to tag: FILES... or --input PATH")
    return paths


def tag_on_spark(
    files: list[Path] | None,
    input_path: str | None,
    output: Path,
    model: str,
    master: str | None,
    fmt: str | None,
    tracking_uri: str | None,
) -> None:
    """`peerscreen tag --engine spark`: one dataset in, one Parquet folder out."""
    files = list(files or [])
    if files and input_path:
        raise typer.BadParameter(
            "--engine spark reads one dataset: give --input PATH or one FILE, not both"
        )
    if len(files) > 1:
        raise typer.BadParameter(
            "--engine spark reads one dataset: put the files in one folder, or pass a glob "
            "such as --input 'exports/*.parquet'"
        )
    if not files and not input_path:
        raise typer.BadParameter("give the dataset to tag: --input PATH")
    source = input_path or str(files[0])
    with user_errors():
        from peerscreen.batch.spark import tag_with_spark

        with console.status(f"tagging {source} on Spark ({master or 'local[*]'})"):
            result = tag_with_spark(
                model,
                source,
                output,
                master=master or "local[*]",
                tracking_uri=tracking_uri,
                fmt=fmt,
            )
    counts = ", ".join(f"{n} {c}" for c, n in result.categories.items())
    if counts:
        console.print(f"categories: {counts}")
    console.print(
        f"wrote {result.n_records} tagged records to {result.output} (Parquet) "
        f"in {result.seconds:.1f} s"
    )
