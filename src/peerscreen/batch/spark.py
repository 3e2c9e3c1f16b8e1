"""Tag records on Spark: the review's MLflow pyfunc model applied with `mlflow.pyfunc.spark_udf`.

For collections too big for one process. The model (a pyfunc folder or `models:/NAME/VERSION`)
is resolved on the driver and MLflow ships it to the executors, so executors need peerscreen
installed (the same version, `env_manager="local"`) but no access to the model store. Spark
reads the dataset itself (Parquet, CSV/TSV, JSON Lines or a JSON array): title, abstract,
year, language and MeSH columns are found under the same names the CSV reader accepts; there
is no cleaning and no deduplication, one output row per input row. The output is a Parquet
folder (`record_id`, `title`, then the tag columns of `peerscreen tag`), written beside the
target and renamed into place, so a failed job leaves no half-written output.

The pyfunc's `task="tag"` parameter gives the tag columns; models logged before it existed
still work and give the tag columns their output schema has.
"""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from peerscreen.batch.spark_session import (
    SparkError,
    error_summary,
    require_pyspark,
    session_for,
    silence_python_warnings,
)
from peerscreen.errors import InputError, OutputError, PeerscreenError
from peerscreen.io.readers.tabular import COLUMN_ALIASES
from peerscreen.tracking import (
    PYFUNC_TAG_OUTPUTS,
    ModelNotFoundError,
    configure_tracking,
    quiet_mlflow_environment,
)

#: Spark reader per file extension.
FORMATS = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}
#: Spark SQL type of each tag column the pyfunc returns.
TAG_TYPES = {
    "category": "string",
    "p_category": "double",
    "outcomes": "string",
    "outcome_scores": "string",
    "exclusion_reason": "string",
    "exclusion_flags": "string",
    "design": "string",
    "evidence": "string",
}
#: Record fields looked up in the input (by `COLUMN_ALIASES`), besides the model's inputs.
_FIELDS = ("record_id", "title", "abstract", "year", "language", "mesh")
_YEAR = r"\b(1[5-9]\d\d|20\d\d|21\d\d)\b"


@dataclass
class SparkTagResult:
    """What `tag_with_spark` wrote: counts for the summary line, and how long tagging took."""

    output: str
    n_records: int
    categories: dict[str, int] = field(default_factory=dict)
    columns: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def records_per_second(self) -> float:
        return self.n_records / self.seconds if self.seconds else 0.0


def _has_scheme(path: str) -> bool:
    return re.match(r"^[a-zA-Z][\w+.-]*://", path) is not None and not path.startswith("file:")


def _local(path: str) -> Path | None:
    """The local path behind `path`, or None for hdfs://, s3a:// and other remote URIs."""
    if _has_scheme(path):
        return None
    return Path(path.removeprefix("file://").removeprefix("file:"))


def _format_of(path: str, fmt: str | None) -> str:
    if fmt:
        name = fmt.lower().strip(".")
        if name in {"parquet", "csv", "tsv", "json", "jsonl"}:
            return name
        raise InputError(
            path, f"the Spark engine reads parquet, csv, tsv, json or jsonl, not {fmt}"
        )
    local = _local(path)
    if local is not None and local.is_dir():
        suffixes = {p.suffix.lower() for p in local.iterdir() if not p.name.startswith((".", "_"))}
        for suffix in (".parquet", ".jsonl", ".json", ".csv", ".tsv"):
            if suffix in suffixes:
                return FORMATS[suffix]
        return "parquet"  # Spark's own output: part files without an extension
    suffix = PurePosixPath(path.rstrip("/")).suffix.lower()
    if suffix in FORMATS:
        return FORMATS[suffix]
    if local is None and not suffix:
        return "parquet"
    raise InputError(path, "cannot tell the format: use --format parquet, csv, tsv, json or jsonl")


def _json_is_array(local: Path | None) -> bool:
    if local is None or not local.is_file():
        return False
    with local.open("rb") as handle:
        head = handle.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"[")


def read_dataset(spark: Any, path: str, fmt: str | None = None) -> Any:
    """A Spark DataFrame of `path` (a file, a folder or a glob), every column as read."""
    local = _local(path)
    if local is not None and not any(ch in path for ch in "*?[") and not local.exists():
        raise InputError(path, "no such file or folder")
    kind = _format_of(path, fmt)
    location = str(local.resolve()) if local is not None and local.exists() else path
    reader = spark.read
    if kind in {"csv", "tsv"}:
        reader = (
            reader.option("header", True)
            .option("multiLine", True)
            .option("escape", '"')
            .option("sep", "\t" if kind == "tsv" else ",")
        )
        method = reader.csv
    elif kind in {"json", "jsonl"}:
        reader = reader.option("multiLine", kind == "json" and _json_is_array(local))
        method = reader.json
    else:
        method = reader.parquet
    try:
        frame = method(location)
    except Exception as exc:  # AnalysisException and friends
        raise InputError(path, f"Spark could not read it as {kind}: {error_summary(exc)}") from exc
    if "_corrupt_record" in frame.columns:
        raise InputError(path, f"not valid {kind}: Spark found corrupt records")
    return frame


def _columns(frame: Any) -> dict[str, str]:
    """Record field -> input column, by the CSV reader's aliases (case-insensitive)."""
    lowered: dict[str, str] = {}
    for name in frame.columns:
        lowered.setdefault(name.lstrip("\ufeff").strip().lower(), name)
    mapping: dict[str, str] = {}
    for target in _FIELDS:
        for alias in COLUMN_ALIASES[target]:
            if alias in lowered and lowered[alias] not in mapping.values():
                mapping[target] = lowered[alias]
                break
    return mapping


def _model_frame(frame: Any, source: str) -> Any:
    """`record_id`, `title`, `abstract`, `year`, `language`, `mesh` with the types the pyfunc
    signature declares (year as a nullable long, MeSH as `;`-joined text)."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import ArrayType, NumericType

    mapping = _columns(frame)
    if "title" not in mapping and "abstract" not in mapping:
        raise InputError(
            source,
            "no title or abstract column (found: " + ", ".join(frame.columns[:20]) + ")",
        )
    types = {f.name: f.dataType for f in frame.schema.fields}

    def col(name: str) -> Any:
        return F.col("`" + mapping[name].replace("`", "``") + "`")

    def text(name: str) -> Any:
        if name not in mapping:
            return F.lit(None).cast("string")
        value = F.trim(col(name).cast("string"))
        return F.when(value == "", None).otherwise(value)

    if "year" not in mapping:
        year = F.lit(None).cast("long")
    elif isinstance(types[mapping["year"]], NumericType):
        year = col("year").cast("long")
    else:
        digits = F.regexp_extract(col("year").cast("string"), _YEAR, 1)
        year = F.when(digits == "", None).otherwise(digits).cast("long")
    if "mesh" in mapping and isinstance(types[mapping["mesh"]], ArrayType):
        mesh = F.concat_ws(";", col("mesh"))
    else:
        mesh = text("mesh")
    record_id = (
        col("record_id").cast("string")
        if "record_id" in mapping
        else F.concat(F.lit("row-"), F.monotonically_increasing_id().cast("string"))
    )
    return frame.select(
        record_id.alias("record_id"),
        text("title").alias("title"),
        text("abstract").alias("abstract"),
        year.alias("year"),
        text("language").alias("language"),
        mesh.alias("mesh"),
    )


@dataclass
class _TagPlan:
    inputs: list[str]
    outputs: dict[str, str]
    params: dict[str, str] | None

    @property
    def result_type(self) -> str:
        return ", ".join(f"{name} {kind}" for name, kind in self.outputs.items())


def _plan(model_uri: str) -> _TagPlan:
    """Which columns go in and come out, read from the model's signature (MLmodel only)."""
    from mlflow.models import get_model_info

    try:
        signature = get_model_info(model_uri).signature
    except Exception as exc:  # MLflow raises several types for unknown models
        raise ModelNotFoundError(f"cannot load {model_uri}: {error_summary(exc)}") from None
    if signature is None or signature.inputs is None:
        raise ModelNotFoundError(f"{model_uri}: no signature, so not a peerscreen pyfunc model")
    inputs = [name for name in signature.inputs.input_names() if name in _FIELDS]
    params = {p.name for p in signature.params.params} if signature.params else set()
    if "task" in params:
        return _TagPlan(inputs, dict(TAG_TYPES), {"task": "tag"})
    declared = set(signature.outputs.input_names()) if signature.outputs else set()
    outputs = {name: TAG_TYPES[name] for name in PYFUNC_TAG_OUTPUTS if name in declared}
    if not outputs:
        raise ModelNotFoundError(f"{model_uri}: its output has none of the tag columns")
    return _TagPlan(inputs, outputs, None)


def _model_reference(model: str | Path) -> str:
    text = str(model)
    if text.startswith(("models:/", "runs:/")) or _has_scheme(text):
        return text
    path = Path(text)
    if not (path / "MLmodel").is_file():
        raise ModelNotFoundError(
            f"{path}: not an MLflow model folder (no MLmodel); train one with "
            "`peerscreen train --promote`, or give models:/NAME/VERSION"
        )
    return str(path.resolve())


def _tag_frame(spark: Any, frame: Any, model_uri: str, plan: _TagPlan) -> Any:
    """The tagged DataFrame (lazy). MLflow's schema check rejects a long column holding nulls,
    so records without a year go through the model without the year column."""
    import mlflow.pyfunc
    from pyspark.sql import functions as F

    udf = mlflow.pyfunc.spark_udf(
        spark,
        model_uri,
        result_type=plan.result_type,
        env_manager="local",
        params=plan.params,
    )
    parallelism = spark.sparkContext.defaultParallelism
    if frame.rdd.getNumPartitions() < parallelism:
        frame = frame.repartition(parallelism)

    def scored(part: Any, inputs: list[str]) -> Any:
        return part.select("record_id", "title", udf(F.struct(*inputs)).alias("_tags"))

    inputs = [name for name in plan.inputs if name in frame.columns]
    if "year" in inputs:
        with_year = scored(frame.where(F.col("year").isNotNull()), inputs)
        without = [name for name in inputs if name != "year"]
        tagged = with_year.unionByName(scored(frame.where(F.col("year").isNull()), without))
    else:
        tagged = scored(frame, inputs)
    return tagged.select("record_id", "title", *[f"_tags.{name}" for name in plan.outputs])


def _hadoop_fs(spark: Any, path: str) -> tuple[Any, Any]:
    jvm = spark.sparkContext._jvm
    hadoop_path = jvm.org.apache.hadoop.fs.Path(path)
    return hadoop_path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()), hadoop_path


def _write_atomically(spark: Any, frame: Any, output: str) -> None:
    """Write to a sibling staging folder, then swap it in (Hadoop FS: local or remote)."""
    jvm = spark.sparkContext._jvm
    parent, _, name = output.rstrip("/").rpartition("/")
    staging = f"{parent}/.{name}.tmp-{uuid.uuid4().hex[:8]}" if parent else f".{name}.tmp"
    fs, target = _hadoop_fs(spark, output)
    staged = jvm.org.apache.hadoop.fs.Path(staging)
    try:
        frame.write.mode("overwrite").parquet(staging)
        backup = jvm.org.apache.hadoop.fs.Path(f"{staging}.old")
        had_target = fs.exists(target)
        if had_target and not fs.rename(target, backup):
            raise OutputError(f"{output}: cannot replace the existing output")
        if not fs.rename(staged, target):
            if had_target:
                fs.rename(backup, target)
            raise OutputError(f"{output}: cannot move the finished output into place")
        if had_target:
            fs.delete(backup, True)
    except PeerscreenError:
        raise
    except Exception as exc:
        raise SparkError(f"tagging on Spark failed: {error_summary(exc)}") from exc
    finally:
        if fs.exists(staged):
            fs.delete(staged, True)


def _output_location(output: str | Path) -> str:
    text = str(output)
    suffix = PurePosixPath(text.rstrip("/")).suffix.lower()
    if suffix and suffix != ".parquet":
        raise OutputError(
            f"{text}: the Spark engine writes a Parquet folder; give a folder or a .parquet path"
        )
    local = _local(text)
    if local is None:
        return text
    return str(local.resolve())


def tag_with_spark(
    model: str | Path,
    input_path: str | Path,
    output_path: str | Path,
    *,
    master: str = "local[*]",
    tracking_uri: str | None = None,
    fmt: str | None = None,
    spark: Any = None,
) -> SparkTagResult:
    """Tag every record of `input_path` on Spark and write a Parquet folder at `output_path`.

    `model` is a pyfunc folder or an MLflow URI (`models:/NAME/VERSION`, resolved with
    `tracking_uri`, else $MLFLOW_TRACKING_URI, else `sqlite:///mlflow.db`). A given `spark`
    session (or an active one) is used as it is; otherwise one is started on `master` and
    stopped at the end.
    """
    source = str(input_path)
    output = _output_location(output_path)
    require_pyspark()
    quiet_mlflow_environment()
    model_uri = _model_reference(model)
    if model_uri.startswith(("models:/", "runs:/")):
        configure_tracking(tracking_uri)
    plan = _plan(model_uri)
    with session_for(spark, master) as session:
        silence_python_warnings()
        frame = _model_frame(read_dataset(session, source, fmt), source)
        started = time.perf_counter()
        try:
            tagged = _tag_frame(session, frame, model_uri, plan)
        except PeerscreenError:
            raise
        except Exception as exc:
            raise SparkError(f"cannot apply {model} on Spark: {error_summary(exc)}") from exc
        _write_atomically(session, tagged, output)
        seconds = time.perf_counter() - started
        written = session.read.parquet(output)
        counts: dict[str, int] = {}
        if "category" in written.columns:
            rows = written.groupBy("category").count().collect()
            counts = {str(r["category"]): int(r["count"]) for r in rows}
            counts = dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
            total = sum(counts.values())
        else:
            total = written.count()
        return SparkTagResult(
            output=output,
            n_records=total,
            categories=counts,
            columns=list(written.columns),
            seconds=seconds,
        )
