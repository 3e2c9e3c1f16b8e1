"""Starting Spark for peerscreen: a quiet local (or cluster) session, clear errors when
pyspark or Java is missing, and Py4J errors cut to one readable line."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sys
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from peerscreen.errors import PeerscreenError

#: Spark's log4j settings, quieter: the root level stays WARN (Spark announces any other
#: level at start-up) and is raised once the session runs.
_QUIET_LOG4J = """\
rootLogger.level = warn
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n
logger.native.name = org.apache.hadoop.util.NativeCodeLoader
logger.native.level = error
"""


class SparkError(PeerscreenError):
    """Spark could not start, or a Spark job failed."""


class MissingSparkError(SparkError):
    """pyspark is not installed."""


def _is_local_master(master: str) -> bool:
    return master == "local" or master.startswith("local[")


def _java_available() -> bool:
    home = os.environ.get("JAVA_HOME")
    return shutil.which("java") is not None or bool(home and Path(home, "bin", "java").exists())


def _quiet_log4j_config() -> str:
    path = Path(tempfile.gettempdir()) / "peerscreen-spark-log4j2.properties"
    try:
        if not path.exists() or path.read_text() != _QUIET_LOG4J:
            path.write_text(_QUIET_LOG4J)
    except OSError:  # another user's file: write our own
        handle, name = tempfile.mkstemp(prefix="peerscreen-", suffix=".properties")
        os.write(handle, _QUIET_LOG4J.encode())
        os.close(handle)
        path = Path(name)
    return path.as_uri()


def silence_python_warnings() -> None:
    # pyspark 4 warns about pandas 3 on every pandas UDF (PLATFORM.md: harmless)
    warnings.filterwarnings("ignore", message=r"PySpark does not yet fully support pandas")


def require_pyspark() -> None:
    """Raise MissingSparkError, with the install command, when pyspark is not installed."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise MissingSparkError(
            "the Spark engine needs pyspark: pip install 'peerscreen[spark]'"
        ) from None


def spark_session(
    master: str = "local[*]",
    *,
    app_name: str = "peerscreen",
    shuffle_partitions: int | None = None,
) -> Any:
    """Start (or join) a SparkSession set up for scoring: no UI, quiet logs, this interpreter.

    Local masters run the Python workers with this interpreter (PYSPARK_PYTHON); for a
    cluster an existing PYSPARK_PYTHON wins, since the driver's path may not exist there.
    """
    require_pyspark()
    from pyspark.sql import SparkSession

    if not _java_available():
        raise SparkError(
            "Spark needs Java 17 or newer and none was found: install a JDK or JRE "
            "(e.g. apt-get install openjdk-17-jre-headless) or set JAVA_HOME"
        )
    local = _is_local_master(master)
    if local:  # bind to loopback (Spark warns when the host name resolves to it)
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    for name in ("PYSPARK_PYTHON", "PYSPARK_DRIVER_PYTHON"):
        if local:
            os.environ[name] = sys.executable
        else:
            os.environ.setdefault(name, sys.executable)
    silence_python_warnings()
    builder = (
        SparkSession.builder.master(master)
        .appName(app_name)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.executorEnv.PYTHONWARNINGS", "ignore::FutureWarning")
    )
    if local:  # a cluster keeps its own driver options and log settings
        log4j = f"-Dlog4j2.configurationFile={_quiet_log4j_config()}"
        builder = builder.config("spark.driver.extraJavaOptions", log4j)
    if shuffle_partitions or local:
        builder = builder.config("spark.sql.shuffle.partitions", str(shuffle_partitions or 4))
    try:
        session = builder.getOrCreate()
    except Exception as exc:  # a JVM that will not start raises several types
        raise SparkError(f"could not start Spark ({master}): {error_summary(exc)}") from exc
    # a failed task logs pages of Java and Python traces; the error that ends the command says
    # what went wrong in one line (PEERSCREEN_DEBUG=1 shows Spark's log as well)
    session.sparkContext.setLogLevel("WARN" if os.environ.get("PEERSCREEN_DEBUG") else "FATAL")
    return session


@contextlib.contextmanager
def session_for(spark: Any, master: str) -> Iterator[Any]:
    """The given session, else the active one, else a new one that is stopped afterwards."""
    if spark is not None:
        yield spark
        return
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        yield active
        return
    session = spark_session(master)
    try:
        yield session
    finally:
        session.stop()


def error_summary(exc: BaseException) -> str:
    """One readable line from a Py4J or Python-worker exception (they run to pages)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    meaningful = [
        line
        for line in lines
        if re.match(r"^[\w.]+(Error|Exception)\b.*:", line) and "Traceback" not in line
    ]
    text = (meaningful or lines or [type(exc).__name__])[-1]
    return text[:300]
