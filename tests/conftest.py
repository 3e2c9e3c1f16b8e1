"""Shared fixtures: paths to our own fixtures and to the real data in ../shared."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SHARED = Path(os.environ.get("PEERSCREEN_SHARED", ROOT.parent / "shared"))
SHARED_DATA = SHARED / "data"

needs_shared = pytest.mark.skipif(
    not (SHARED_DATA / "benchmarks").is_dir(),
    reason=f"real benchmark data not found at {SHARED_DATA} (set PEERSCREEN_SHARED)",
)


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture(scope="session")
def small_corpus():
    """A stratified 150-record slice of the team's corpus: enough to train, quick to run."""
    import numpy as np

    from peerscreen.io.readers import read_file
    from peerscreen.paths import DEFAULT_CORPUS

    records, _ = read_file(DEFAULT_CORPUS)
    frame = records.frame
    rng = np.random.default_rng(0)
    included = np.nonzero(frame["included"].to_numpy() == 1)[0]
    excluded = np.nonzero(frame["included"].to_numpy() == 0)[0]
    chosen = np.sort(
        np.r_[rng.choice(included, 60, replace=False), rng.choice(excluded, 90, replace=False)]
    )
    return records.take(chosen)


@pytest.fixture(scope="session")
def trained(small_corpus):
    from peerscreen.review.protocol import load_protocol
    from peerscreen.review.training import train

    return train(small_corpus, load_protocol(), seed=0)


@pytest.fixture(scope="session")
def mlflow_uri(tmp_path_factory):
    """One SQLite tracking store for the whole session: creating one runs MLflow's schema
    migrations (several seconds), so tests share it and use their own experiments."""
    folder = tmp_path_factory.mktemp("mlflow")
    return f"sqlite:///{folder / 'mlflow.db'}"


@pytest.fixture(scope="session", autouse=True)
def _run_in_a_scratch_folder(tmp_path_factory):
    """Run every test from a scratch folder: MLflow puts artifacts of experiments it creates
    under ./mlruns, and nothing a test does may land in the checkout."""
    previous = Path.cwd()
    scratch = tmp_path_factory.mktemp("cwd")
    os.chdir(scratch)
    yield scratch
    os.chdir(previous)


#: The machine's PostgreSQL (trust auth); PEERSCREEN_TEST_POSTGRES overrides it.
POSTGRES_SERVER = os.environ.get(
    "PEERSCREEN_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@pytest.fixture(scope="session")
def postgres_server_url():
    """A database of this test session's own on the PostgreSQL server (so two test runs
    never share tables), dropped at the end; skips when no server answers."""
    import sqlalchemy as sa

    try:
        admin = sa.create_engine(POSTGRES_SERVER, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            name = f"peerscreen_test_{os.getpid()}"
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            conn.exec_driver_sql(f"CREATE DATABASE {name}")
    except Exception as exc:  # no server, no driver: the PostgreSQL half skips
        pytest.skip(f"no PostgreSQL server answers at {POSTGRES_SERVER} ({type(exc).__name__})")
    url = sa.engine.make_url(POSTGRES_SERVER).set(database=name).render_as_string(False)
    yield url
    with admin.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """A URL of an empty database, once on SQLite (a file) and once on PostgreSQL (the
    session's database, emptied before each test)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'team.db'}"
    import sqlalchemy as sa

    url = request.getfixturevalue("postgres_server_url")
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:  # earlier tests' retrain workers may hold connections
        conn.exec_driver_sql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        conn.exec_driver_sql("DROP SCHEMA public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")
    engine.dispose()
    return url
